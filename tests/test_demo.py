"""The demo data the README's run command loads: both tenants can be booked end to
end (locations open, published packages offered there), and loading twice adds
nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import func, select

from prm_saas.accounts.auth import staff_principal
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import StaffMember, StaffRole
from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.frontdesk import day_calendar
from prm_saas.booking.models import Booking, Location
from prm_saas.booking.schedule import available_slots, local_today, tenant_zone
from prm_saas.demo import load_demo
from prm_saas.mall.storefront import published_packages
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant
from tenants.types import utcnow


def _admin(s: Any) -> Principal:
    admin = s.exec(select(StaffMember).where(StaffMember.role == StaffRole.TENANT_ADMIN)).one()
    return staff_principal(admin)


def test_demo_tenants_can_be_booked_and_loading_twice_adds_nothing() -> None:
    created = load_demo()
    assert len([c for c in created if c.startswith("tenant ")]) == 2
    with platform_session() as s:
        tenants = s.exec(select(Tenant)).all()
    assert len(tenants) == 2
    now = utcnow()
    desks_open = 0
    for tenant in tenants:
        assert tenant.id is not None
        with tenant_session(tenant.id) as s:
            locations = s.exec(select(Location)).all()
            assert locations
            packages = published_packages(session=s, location_id=locations[0].id)
            assert len(packages) >= 4
            days = [
                d for d in bookable_days(session=s, location_id=locations[0].id, now=now) if d.open
            ]
            assert days
            assert days[0].day - now.date() <= timedelta(days=3)
            slots = available_slots(
                session=s,
                location_id=int(locations[0].id or 0),
                day=days[0].day,
                package_id=packages[0].id,
                now=now,
            )
            assert any(v.bookable for v in slots)
            # The front desk has walk-ins today and bookings on the next open day.
            today = local_today(now, tenant_zone(s))
            desk = day_calendar(
                session=s, actor=_admin(s), location_id=int(locations[0].id or 0), day=today
            )
            if desk.slots:  # open today (康健 opens every day, 阳光 not on Sundays)
                desks_open += 1
                assert sum(len(sl.bookings) for sl in desk.slots) >= 3
            ahead = s.exec(
                select(func.count()).select_from(Booking).where(Booking.walk_in.is_(False))  # type: ignore[attr-defined]
            ).one()
            assert ahead >= 4
    assert desks_open >= 1
    assert load_demo() == []
    with platform_session() as s:
        assert s.exec(select(func.count()).select_from(Tenant)).one() == 2


def test_demo_members_have_cards_points_levels_and_challenges() -> None:
    from prm_saas.accounts.auth import patient_principal
    from prm_saas.accounts.models import Patient
    from prm_saas.challenges.models import Challenge, ChallengeCheckin, ChallengeParticipant
    from prm_saas.membership import points
    from prm_saas.membership.admin import list_levels, list_rules
    from prm_saas.membership.models import MemberCard
    from prm_saas.membership.wallet import wallet

    load_demo()
    now = utcnow()
    with platform_session() as s:
        tenants = s.exec(select(Tenant).order_by(Tenant.id)).all()  # type: ignore[arg-type]
    prefixes = set()
    for tenant in tenants:
        assert tenant.id is not None
        with tenant_session(tenant.id) as s:
            admin = _admin(s)
            levels = list_levels(session=s, actor=admin)
            assert [lv.name_zh for lv in levels] == ["普通", "银卡", "金卡"]
            rules = {r.kind: r.points for r in list_rules(session=s, actor=admin) if r.active}
            assert rules == {
                "per_yuan_paid": 1,
                "checkup_completed": 200,
                "challenge_completed": 100,
                "birthday": 100,
                "referral": 300,
            }
            patients = s.exec(select(Patient).order_by(Patient.id)).all()  # type: ignore[arg-type]
            numbers = s.exec(select(MemberCard.number)).all()
            assert len(numbers) == len(patients)
            prefixes.add(numbers[0][:2])
            first = patients[0]
            w = wallet(session=s, actor=patient_principal(first), now=now)
            assert w.level is not None
            assert w.level.name_zh == "银卡"
            assert (w.balance, w.locked, w.expiring) == (2697, 399, 1299)
            assert w.spendable == 2697 - 399
            assert w.expiring_last_day is not None
            assert w.expiring_last_day - now.date() <= timedelta(days=30)
            assert len(w.history) == 5
            for p in patients:
                assert points.check_account(s, patient_id=int(p.id or 0)).ok
            published = s.exec(select(Challenge).where(Challenge.status == "published")).all()
            assert len(published) == 2
            assert s.exec(select(func.count()).select_from(ChallengeParticipant)).one() >= 6
            assert s.exec(select(func.count()).select_from(ChallengeCheckin)).one() >= 10
    assert prefixes == {"SU", "KJ"}
