"""Every trigger enrolls; a hook firing twice enrolls once; a failing hook never
breaks the caller's use case; another tenant's events reach no automation here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from prm_saas.accounts.models import Patient
from prm_saas.accounts.patients import register_patient
from prm_saas.automations import hooks
from prm_saas.automations.models import EnrollmentStatus
from prm_saas.booking import frontdesk
from prm_saas.booking.models import BookingStatus
from prm_saas.membership.models import PointsLot
from prm_saas.tags import services as tag_services
from prm_saas.tags.models import TagKind
from tenants.db import tenant_session
from tests.automations import builders as b
from tests.automations.builders import NOW
from tests.factories import World
from tests.tags import builders as tb


def test_manual_tag_added_enrolls_and_the_same_tag_event_enrolls_once(world: World) -> None:
    vip = tb.tag(world.a, world.admin_a, "VIP")
    other = tb.tag(world.a, world.admin_a, "其他")
    aid = b.automation(world.a, world.admin_a, "tag_added", [b.msg()], {"tag_id": vip})
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        tag_services.add_tags(
            session=s, actor=world.staff_a, patient_ids=[pid], tag_ids=[vip, other], now=NOW
        )
    rows = b.enrollments(world.a, aid)
    assert [(r.patient_id, r.status) for r in rows] == [(pid, EnrollmentStatus.ACTIVE)]
    # the hook for the same tag event again (a retry): still one enrollment
    event_id = int(rows[0].occurrence.split(":")[1])
    with tenant_session(world.a.id) as s:
        made = hooks.fire(s, "tag_added", pid, now=NOW, tag_id=vip, event_id=event_id)
    assert made == 0
    assert len(b.enrollments(world.a, aid)) == 1
    assert b.enrollments(world.b) == []


def test_a_rule_tag_enrolls_too(world: World) -> None:
    from prm_saas.accounts.models import Sex

    women = tb.tag(world.a, world.admin_a, "女性", TagKind.AUTO)
    aid = b.automation(world.a, world.admin_a, "tag_added", [b.msg()], {"tag_id": women})
    her = tb.patient(world.a, sex=Sex.FEMALE)
    with tenant_session(world.a.id) as s:
        tag_services.create_rule(
            session=s,
            actor=world.admin_a,
            tag_id=women,
            conditions=[{"key": "sex", "params": {"sex": "female"}}],
            now=NOW,
        )
    assert [r.patient_id for r in b.enrollments(world.a, aid)] == [her]
    # the event-driven path (one patient) enrolls a newcomer
    she = tb.patient(world.a, sex=Sex.FEMALE)
    with tenant_session(world.a.id) as s:
        tag_services.reevaluate_for_patient(session=s, patient_id=she, now=NOW)
    assert sorted(r.patient_id for r in b.enrollments(world.a, aid)) == sorted([her, she])


def test_registration_enrolls_in_patient_joined(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "patient_joined", [b.msg()])
    b.automation(world.b, world.admin_b, "patient_joined", [b.msg()])
    with tenant_session(world.a.id) as s:
        reg = register_patient(
            session=s,
            name="新客户",
            phone="13912345678",
            password="Secret123abc",
            password_confirm="Secret123abc",
        )
    rows = b.enrollments(world.a, aid)
    assert [(r.patient_id, r.occurrence) for r in rows] == [(reg.principal.id, "joined")]
    assert b.enrollments(world.b) == []
    # joined fires once per patient, whatever happens
    with tenant_session(world.a.id) as s:
        assert hooks.fire(s, "patient_joined", reg.principal.id) == 0


def test_a_failing_automation_never_breaks_the_registration(world: World) -> None:
    b.automation(world.a, world.admin_a, "patient_joined", [b.msg()])
    with tenant_session(world.a.id) as s:
        # a context the engine cannot use: the hook logs and returns 0
        assert hooks.fire(s, "tag_added", world.patient_a.id, tag_id="x") == 0
        assert hooks.fire(s, "birthday", world.patient_a.id) == 0
        assert hooks.fire(s, "no_such_trigger", world.patient_a.id) == 0
        reg = register_patient(
            session=s,
            name="新客户",
            phone="13912345679",
            password="Secret123abc",
            password_confirm="Secret123abc",
        )
    with tenant_session(world.a.id) as s:
        assert s.get(Patient, reg.principal.id) is not None


def _checked_in(world: World, pid: int) -> int:
    return tb.booking(world.a, pid, date(2026, 12, 1), BookingStatus.CHECKED_IN)


def test_completing_a_checkup_enrolls_booking_completed_and_days_after(world: World) -> None:
    done = b.automation(world.a, world.admin_a, "booking_completed", [b.msg()])
    later = b.automation(world.a, world.admin_a, "days_after_checkup", [b.msg()], {"days": 3})
    pid = world.patient_a.id
    bid = _checked_in(world, pid)
    for _ in range(2):  # completing twice: the second is a no-op, no second enrollment
        with tenant_session(world.a.id) as s:
            frontdesk.complete(session=s, actor=world.staff_a, booking_id=bid, now=NOW)
    now_rows = b.enrollments(world.a, done)
    later_rows = b.enrollments(world.a, later)
    assert [(r.occurrence, r.next_at) for r in now_rows] == [(f"booking:{bid}", NOW)]
    assert [(r.occurrence, r.next_at) for r in later_rows] == [
        (f"booking:{bid}", NOW + timedelta(days=3))
    ]
    with tenant_session(world.a.id) as s:
        assert hooks.fire(s, "booking_completed", pid, now=NOW, booking_id=bid) == 0
    # nothing due before the third day
    assert b.tick(world.a, NOW + timedelta(days=2)).messages == 1  # booking_completed's only
    assert b.tick(world.a, NOW + timedelta(days=3)).messages == 1


def test_birthday_scan_enrolls_once_a_year_in_the_tenant_local_day(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "birthday", [b.msg()])
    today_born = tb.patient(world.a, birth_date=date(1980, 12, 1))
    tomorrow_born = tb.patient(world.a, birth_date=date(1980, 12, 2))
    other_tenant = tb.patient(world.b, birth_date=date(1980, 12, 1))
    # 23:30 UTC on 30 November is already 1 December in Shanghai
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert b.scan(world.a, late)["birthday"] == 1
    assert b.scan(world.a, NOW)["birthday"] == 0  # the hourly repeat
    rows = b.enrollments(world.a, aid)
    assert [(r.patient_id, r.occurrence) for r in rows] == [(today_born, "birthday:2026")]
    assert tomorrow_born not in {r.patient_id for r in rows}
    assert b.enrollments(world.b) == []
    assert other_tenant


def test_points_expiring_scan_enrolls_per_expiry_day(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "points_expiring", [b.msg()], {"days_before": 7})
    soon, far = tb.patient(world.a), tb.patient(world.a)
    with tenant_session(world.a.id) as s:
        # expires 04:00 on 6 December in Shanghai (20:00 UTC on the 5th): last day the 6th
        at = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
        s.add(PointsLot(patient_id=soon, points=10, remaining=10, expires_at=at, available_at=NOW))
        s.add(
            PointsLot(
                patient_id=far,
                points=10,
                remaining=10,
                expires_at=at + timedelta(days=30),
                available_at=NOW,
            )
        )
    assert b.scan(world.a, NOW)["points_expiring"] == 1
    assert b.scan(world.a, NOW + timedelta(days=1))["points_expiring"] == 0
    rows = b.enrollments(world.a, aid)
    assert [(r.patient_id, r.occurrence) for r in rows] == [(soon, "expiring:2026-12-06")]


def test_no_visit_scan_enrolls_lapsed_patients_once_per_last_visit(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "no_visit", [b.msg()], {"days": 365})
    lapsed, recent, booked = tb.patient(world.a), tb.patient(world.a), tb.patient(world.a)
    old = date(2025, 11, 30)
    tb.booking(world.a, lapsed, old, BookingStatus.COMPLETED)
    tb.booking(world.a, recent, date(2026, 6, 1), BookingStatus.COMPLETED)
    tb.booking(world.a, booked, old, BookingStatus.COMPLETED)
    tb.booking(world.a, booked, date(2026, 12, 20), BookingStatus.CONFIRMED)  # coming back
    tb.patient(world.a)  # never visited: not a lapse
    assert b.scan(world.a, NOW)["no_visit"] == 1
    assert b.scan(world.a, NOW + timedelta(days=1))["no_visit"] == 0
    rows = b.enrollments(world.a, aid)
    assert [(r.patient_id, r.occurrence) for r in rows] == [(lapsed, "no_visit:2025-11-30")]


def test_an_inactive_automation_enrolls_nobody(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "patient_joined", [b.msg()], active=False)
    with tenant_session(world.a.id) as s:
        assert hooks.fire(s, "patient_joined", world.patient_a.id, now=NOW) == 0
    assert b.enrollments(world.a, aid) == []


def test_another_tenants_tag_event_enrolls_nobody_here(world: World) -> None:
    vip_a = tb.tag(world.a, world.admin_a, "VIP")
    vip_b = tb.tag(world.b, world.admin_b, "VIP")
    b.automation(world.a, world.admin_a, "tag_added", [b.msg()], {"tag_id": vip_a})
    with tenant_session(world.b.id) as s:
        tag_services.add_tags(
            session=s, actor=world.staff_b, patient_ids=[world.patient_b.id], tag_ids=[vip_b]
        )
    assert b.enrollments(world.a) == []
    assert b.enrollments(world.b) == []
    with tenant_session(world.a.id) as s:
        assert s.exec(select(Patient.id).where(Patient.id == world.patient_b.id)).first() is None
