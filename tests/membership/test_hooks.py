"""Points and cards hooked into other use cases: a completed checkup earns the
tenant's CHECKUP_COMPLETED points once and moves the level; self-registration
issues the card when the policy says so, all or nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlmodel import col, select

from prm_saas.accounts.models import Patient
from prm_saas.accounts.patients import register_patient
from prm_saas.booking import frontdesk as fd
from prm_saas.booking import services
from prm_saas.membership import admin, cards
from prm_saas.membership.models import (
    MemberCard,
    MembershipLevel,
    MembershipSettings,
    PointsEntry,
    PointsRule,
    RuleKind,
)
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound
from tenants.resolution import TenantInfo
from tests.booking.builders import NOW, TODAY, make_location, make_package, slots_of
from tests.factories import World

GOOD = "Health2024go"


def _checked_in(world: World, tenant: TenantInfo, patient_id: int) -> int:
    staff = world.admin_a if tenant.id == world.a.id else world.admin_b
    desk = world.staff_a if tenant.id == world.a.id else world.staff_b
    loc = make_location(tenant, staff, capacity=2, start="10:30", end="12:00", min_days_ahead=0)
    pkg = make_package(tenant, [loc])
    sid = slots_of(tenant, loc, TODAY)[0].id
    with tenant_session(tenant.id) as s:
        b = services.reserve(
            session=s, patient_id=patient_id, package_id=pkg, location_id=loc, slot_id=sid,
            addon_item_ids=[], idempotency_key=f"hook-{patient_id}", hold_until=None, now=NOW,
        )  # fmt: skip
        fd.check_in(session=s, actor=desk, code_or_id=b.checkin_code, now=NOW)
        return int(b.id or 0)


def _entries(tenant: TenantInfo) -> list[tuple[int, str, int, str]]:
    with tenant_session(tenant.id) as s:
        return [
            (e.patient_id, e.kind, e.points, e.idempotency_key)
            for e in s.exec(select(PointsEntry).order_by(col(PointsEntry.id))).all()
        ]


def test_completing_a_checkup_earns_points_once_and_moves_the_level(world: World) -> None:
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        s.add(MembershipLevel(name_zh="普通", rank=0))
        s.add(MembershipLevel(name_zh="银卡", rank=1, min_points_12m=200, multiplier_percent=150))
        s.add(PointsRule(kind=RuleKind.CHECKUP_COMPLETED, points=200))
    with tenant_session(world.a.id) as s:
        cards.issue_card(s, actor=world.patient_a, patient_id=pid, now=NOW)
    bid = _checked_in(world, world.a, pid)
    b_bid = _checked_in(world, world.b, world.patient_b.id)  # tenant B has no rule

    with tenant_session(world.a.id) as s:
        fd.complete(session=s, actor=world.staff_a, booking_id=bid, now=NOW)
    with tenant_session(world.a.id) as s:  # completing again changes nothing
        fd.complete(session=s, actor=world.staff_a, booking_id=bid, now=NOW)
    with tenant_session(world.b.id) as s:
        fd.complete(session=s, actor=world.staff_b, booking_id=b_bid, now=NOW)
        with pytest.raises(NotFound):  # tenant A's booking from tenant B's desk
            fd.complete(session=s, actor=world.staff_b, booking_id=bid, now=NOW)

    # Earned at the entry level's x1 multiplier, then the level went up to 银卡.
    assert _entries(world.a) == [(pid, "earn", 200, f"booking:{bid}:completed")]
    assert _entries(world.b) == []
    with tenant_session(world.a.id) as s:
        card = s.exec(select(MemberCard)).one()
        level = s.get(MembershipLevel, card.level_id)
        assert level is not None
        assert level.name_zh == "银卡"
        entry = s.exec(select(PointsEntry)).one()
        assert (entry.source_type, entry.source_id) == ("booking", str(bid))


def _register(tenant: TenantInfo, **kw: Any) -> int:
    fields: dict[str, Any] = {
        "name": "王小明",
        "phone": "13912345678",
        "password": GOOD,
        "password_confirm": GOOD,
    }
    fields.update(kw)
    with tenant_session(tenant.id) as s:
        return register_patient(session=s, **fields).principal.id


def test_self_registration_issues_the_card_when_the_policy_says_so(world: World) -> None:
    first = _register(world.a)
    with tenant_session(world.b.id) as s:  # tenant B hands cards out at the desk only
        policy = admin.get_policy(session=s, actor=world.admin_b)
        admin.update_policy(
            session=s,
            actor=world.admin_b,
            data=admin.PolicyInput(
                points_expiry_months=policy.points_expiry_months,
                return_window_days=policy.return_window_days,
                negative_policy=policy.negative_policy,
                notice_days=policy.notice_days,
                card_prefix=policy.card_prefix,
                card_digits=policy.card_digits,
                auto_issue_card=False,
            ),
        )
    in_b = _register(world.b)
    with tenant_session(world.a.id) as s:
        card = s.exec(select(MemberCard)).one()
        assert (card.patient_id, card.number, card.self_registered) == (first, "M00000001", True)
    with tenant_session(world.b.id) as s:
        assert in_b
        assert s.exec(select(MemberCard)).all() == []


def test_a_refused_registration_leaves_no_card_and_no_number_taken(world: World) -> None:
    with pytest.raises(FieldErrors):
        _register(world.a, password_confirm="Different2024")
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Patient).where(col(Patient.name) == "王小明")).all() == []
        assert s.exec(select(MemberCard)).all() == []
        assert s.exec(select(MembershipSettings)).all() == []
    assert _register(world.a)
    with tenant_session(world.a.id) as s:
        assert [c.number for c in s.exec(select(MemberCard)).all()] == ["M00000001"]


@pytest.mark.postgres_only
def test_concurrent_registrations_each_get_their_own_card_number(world: World) -> None:
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            _register(world.a, phone=f"1390000{n:04d}", name=f"并发{n}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with tenant_session(world.a.id) as s:
        numbers = sorted(s.exec(select(MemberCard.number)).all())
        conf = s.exec(select(MembershipSettings)).one()
    assert numbers == [f"M{n:08d}" for n in range(1, 11)]
    assert conf.card_next == 11
