"""Plan limits (prm_saas.billing.limits) where they bite: staff invitations,
locations, patient registration and sending; usage counted per tenant (tenant B's
never counts for A); downgrades checked against usage; plans without numbers,
and tenants without a plan, are unlimited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from prm_saas.accounts.models import Patient, StaffMember
from prm_saas.accounts.patients import register_patient
from prm_saas.accounts.staff import invite_staff, set_staff_enabled
from prm_saas.billing.limits import (
    Overage,
    PlanLimitReached,
    Resource,
    check_fits,
    messages_in_period,
    require_room,
    usage,
)
from prm_saas.billing.models import TenantBilling
from prm_saas.booking.models import Location
from prm_saas.booking.schedule import create_location, update_location
from prm_saas.i18n import translate
from prm_saas.messaging.delivery import deliver_batch
from prm_saas.messaging.models import Channel, Message, MessageStatus
from prm_saas.messaging.outbox import claim_due, enqueue
from prm_saas.platform.models import Plan
from tenants.db import platform_session, tenant_session
from tenants.errors import NoTenantContext
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.billing_signup.helpers import PASSWORD, open_billing, plan
from tests.factories import World, make_patient, make_staff
from tests.platform_kpis.helpers import add_message
from tests.smtp_sink import MailSink, smtp_sink  # noqa: F401 - the fixture


@pytest.fixture
def tiny(world: World) -> int:
    """Both tenants on a tiny plan: 3 seats, 1 location, 2 patients, a cap of 2 messages."""
    p = plan(
        world.operator,
        "tiny",
        "99",
        name_zh="迷你版",
        name_en="Tiny",
        max_staff="3",
        max_locations="1",
        max_active_patients="2",
        messages_included="1",
        message_overage_yuan="0.05",
        messages_cap="2",
    )
    open_billing(world.a.id, p.id)
    open_billing(world.b.id, p.id)
    return p.id


def count(tenant: TenantInfo, model: type) -> int:
    with tenant_session(tenant.id) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def upgrade_hint(exc: PlanLimitReached, number: int) -> None:
    """The message names the number and the plan and says where to upgrade, in both
    languages."""
    zh, en = translate(exc.key, "zh-CN", **exc.params), translate(exc.key, "en", **exc.params)
    assert str(number) in zh
    assert str(number) in en
    assert "迷你版" in zh  # the clinic's language (zh-CN): the plan's Chinese name
    assert "/admin/billing" in zh
    assert "/admin/billing" in en
    assert exc.upgrade_url == "/admin/billing"


# --- staff seats -------------------------------------------------------------------------


def invite(world: World, tenant: TenantInfo, email: str) -> None:
    actor = world.admin_a if tenant.id == world.a.id else world.admin_b
    with tenant_session(tenant.id) as s:
        invite_staff(session=s, actor=actor, email=email, name="新同事", role="staff")


def test_staff_invitations_stop_at_the_plans_seats(world: World, tiny: int) -> None:
    # Tenant B's seats never count for A: B is far over (added directly).
    for i in range(4):
        make_staff(world.b, email=f"extra{i}@b.test")
    invite(world, world.a, "third@a.test")  # admin + staff + this invitation = 3

    with pytest.raises(PlanLimitReached) as exc:
        invite(world, world.a, "fourth@a.test")
    assert exc.value.key == "limits.staff_reached"
    assert exc.value.limit == Resource.STAFF
    assert (exc.value.maximum, exc.value.used, exc.value.plan_code) == (3, 3, "tiny")
    upgrade_hint(exc.value, 3)
    assert count(world.a, StaffMember) == 3


def test_a_disabled_account_frees_its_seat_and_enabling_it_needs_one(
    world: World, tiny: int
) -> None:
    invite(world, world.a, "third@a.test")
    with tenant_session(world.a.id) as s:
        set_staff_enabled(session=s, actor=world.admin_a, staff_id=world.staff_a.id, enabled=False)
    invite(world, world.a, "fourth@a.test")
    with tenant_session(world.a.id) as s, pytest.raises(PlanLimitReached):
        set_staff_enabled(session=s, actor=world.admin_a, staff_id=world.staff_a.id, enabled=True)


# --- locations -----------------------------------------------------------------------------


def new_location(world: World, tenant: TenantInfo, name: str) -> Location:
    actor = world.admin_a if tenant.id == world.a.id else world.admin_b
    with tenant_session(tenant.id) as s:
        return create_location(session=s, actor=actor, name_zh=name)


def test_locations_stop_at_the_plans_number(world: World, tiny: int) -> None:
    with tenant_session(world.b.id) as s:
        for i in range(3):
            s.add(Location(name_zh=f"B 院区 {i}"))
    first = new_location(world, world.a, "一号院区")

    with pytest.raises(PlanLimitReached) as exc:
        new_location(world, world.a, "二号院区")
    assert exc.value.key == "limits.locations_reached"
    upgrade_hint(exc.value, 1)
    assert count(world.a, Location) == 1

    # A closed location frees its place; reopening one needs a free place again.
    with tenant_session(world.a.id) as s:
        update_location(
            session=s, actor=world.admin_a, location_id=first.id, name_zh="一号院区", active=False
        )
    second = new_location(world, world.a, "二号院区")
    with tenant_session(world.a.id) as s, pytest.raises(PlanLimitReached):
        update_location(
            session=s, actor=world.admin_a, location_id=first.id, name_zh="一号院区", active=True
        )
    assert second.id is not None


# --- patients ------------------------------------------------------------------------------


def register(tenant: TenantInfo, phone: str) -> None:
    with tenant_session(tenant.id) as s:
        register_patient(
            session=s, name="新会员", phone=phone, password=PASSWORD, password_confirm=PASSWORD
        )


def test_patient_registration_stops_at_the_plans_active_patients(world: World, tiny: int) -> None:
    for i in range(3):
        make_patient(world.b, phone=f"+861390000010{i}")
    register(world.a, "13900000201")  # patient_a + this one = 2

    with pytest.raises(PlanLimitReached) as exc:
        register(world.a, "13900000202")
    # A patient is told the clinic cannot take registrations, without upgrade talk.
    assert exc.value.key == "limits.patients_full"
    assert exc.value.upgrade_url == ""
    zh = translate(exc.value.key, "zh-CN", **exc.value.params)
    en = translate(exc.value.key, "en", **exc.value.params)
    for text in (zh, en):
        assert "billing" not in text
        assert "升级" not in text
        assert "pgrade" not in text
    assert count(world.a, Patient) == 2


def test_disabled_patients_do_not_count(world: World, tiny: int) -> None:
    register(world.a, "13900000201")
    with tenant_session(world.a.id) as s:
        p = s.exec(select(Patient).where(Patient.id == world.patient_a.id)).one()
        p.status = "disabled"  # type: ignore[assignment]
        s.add(p)
    register(world.a, "13900000202")
    assert count(world.a, Patient) == 3


# --- messages --------------------------------------------------------------------------------


def enqueue_inapp(tenant: TenantInfo, patient_id: int, n: int) -> None:
    with tenant_session(tenant.id) as s:
        for i in range(n):
            enqueue(
                s,
                template_key="marketing.health_tip",
                channel=Channel.INAPP,
                patient_id=patient_id,
                variables={"tip": "多喝水。"},
                dedupe_key=f"tip-{i}",
            )


def dispatch(tenant: TenantInfo) -> dict[str, int]:
    """What the send task does: claim the due messages and deliver them."""
    with tenant_session(tenant.id) as s:
        ids = claim_due(s, now=utcnow(), limit=1000)
    return deliver_batch(tenant_id=tenant.id, message_ids=ids).counts


def quiet_hours_off(tenant: TenantInfo) -> None:
    from prm_saas.messaging.models import MessagingSettings

    with tenant_session(tenant.id) as s:
        s.add(MessagingSettings(quiet_start="00:00", quiet_end="00:00", daily_cap=0))


def test_messages_beyond_the_cap_are_not_sent_and_say_why(world: World, tiny: int) -> None:
    for tenant in (world.a, world.b):
        quiet_hours_off(tenant)
    # B has sent plenty this period: none of it counts for A.
    for _ in range(5):
        add_message(world.b, utcnow())
    enqueue_inapp(world.a, world.patient_a.id, 3)

    outcome = dispatch(world.a)

    assert outcome == {"sent": 2, "suppressed": 1}
    with tenant_session(world.a.id) as s:
        rows = s.exec(select(Message).order_by(col(Message.id))).all()
    assert [r.status for r in rows] == ["sent", "sent", "suppressed"]
    assert rows[2].suppressed_reason == "plan_cap"
    assert translate("reason.plan_cap", "en") != "reason.plan_cap"
    # B is already over: its next message is held back too, and nothing crashes.
    enqueue_inapp(world.b, world.patient_b.id, 1)
    assert dispatch(world.b) == {"suppressed": 1}


def test_messages_of_the_previous_period_do_not_count(world: World, tiny: int) -> None:
    quiet_hours_off(world.a)
    add_message(world.a, utcnow() - timedelta(days=30))  # before the trial began
    add_message(world.a, utcnow() - timedelta(days=30))
    enqueue_inapp(world.a, world.patient_a.id, 2)
    assert dispatch(world.a) == {"sent": 2}


def test_account_mail_goes_out_whatever_the_cap(
    world: World,
    tiny: int,
    smtp_sink: MailSink,  # noqa: F811 - the fixture
) -> None:
    quiet_hours_off(world.a)
    add_message(world.a, utcnow())
    add_message(world.a, utcnow())  # the cap of 2 is reached
    invite(world, world.a, "third@a.test")  # an account message: sent at once
    enqueue_inapp(world.a, world.patient_a.id, 1)
    assert dispatch(world.a) == {"suppressed": 1}
    with tenant_session(world.a.id) as s:
        invite_row = s.exec(
            select(Message).where(Message.template_key == "account.staff_invite")
        ).one()
    assert invite_row.status == MessageStatus.SENT
    assert [m.to for m in smtp_sink.messages] == ["third@a.test"]


# --- usage, downgrades, no plan ------------------------------------------------------------------


def test_usage_counts_each_tenant_alone(world: World, tiny: int) -> None:
    now = utcnow()
    with platform_session() as s:
        billing = s.exec(
            select(TenantBilling).where(TenantBilling.subject_tenant_id == world.a.id)
        ).one()
    start = billing.current_period_start
    assert start is not None
    add_message(world.a, start)  # the period's first instant counts
    add_message(world.a, start - timedelta(seconds=1))  # the one before does not
    add_message(world.a, start + timedelta(seconds=5), status=MessageStatus.FAILED)
    add_message(world.b, start + timedelta(seconds=5))
    add_message(world.b, start + timedelta(seconds=6))
    make_staff(world.b)
    new_location(world, world.b, "B 院区")

    with tenant_session(world.a.id) as s:
        a = usage(s, tenant_id=world.a.id, now=now)
    with platform_session() as s:  # the billing cycle's way in
        b = usage(s, tenant_id=world.b.id, now=now)
        a_sent = messages_in_period(s, tenant_id=world.a.id, start=start, end=now)
    assert (a.staff, a.locations, a.active_patients, a.messages) == (2, 0, 1, 1)
    assert (b.staff, b.locations, b.active_patients, b.messages) == (3, 1, 1, 2)
    assert a_sent == 1
    assert a.limits is not None
    assert (a.limits.code, a.limits.max_staff, a.limits.messages_cap) == ("tiny", 3, 2)
    assert a.limits.message_overage_fen == 5
    assert a.period_start == start

    with tenant_session(world.a.id) as s, pytest.raises(NoTenantContext):
        usage(s, tenant_id=world.b.id)


def test_check_fits_says_what_a_downgrade_would_leave_over(world: World) -> None:
    big = plan(world.operator, "big", "2999", max_staff="20", max_locations="")
    small = plan(world.operator, "small", "999", max_staff="1", max_active_patients="0")
    roomy = plan(world.operator, "roomy", "1999", max_staff="2", max_active_patients="1")
    open_billing(world.a.id, big.id)
    make_staff(world.b)  # B's staff never make A's downgrade impossible
    with platform_session() as ps:
        small_plan, roomy_plan = ps.get(Plan, small.id), ps.get(Plan, roomy.id)
    assert small_plan is not None
    assert roomy_plan is not None

    with tenant_session(world.a.id) as s:
        over = check_fits(s, tenant_id=world.a.id, plan=small_plan)
        fits = check_fits(s, tenant_id=world.a.id, plan=roomy_plan)
    assert over == [
        Overage(resource=Resource.STAFF, used=2, limit=1),
        Overage(resource=Resource.PATIENTS, used=1, limit=0),
    ]
    assert fits == []


def test_a_tenant_without_a_plan_or_with_an_unlimited_plan_has_no_limits(world: World) -> None:
    unlimited = plan(world.operator, "ent", "9999")  # every limit left empty
    open_billing(world.b.id, unlimited.id)
    for tenant in (world.a, world.b):  # A has no billing account at all
        for i in range(3):
            invite(world, tenant, f"many{i}@{tenant.slug}.test")
        for i in range(2):
            new_location(world, tenant, f"院区 {i}")
        with tenant_session(tenant.id) as s:
            for r in Resource:
                require_room(s, r)
    assert count(world.a, StaffMember) == 5
    assert count(world.b, Location) == 2


def test_require_room_needs_a_tenant(world: World) -> None:
    with platform_session() as s, pytest.raises(NoTenantContext):
        require_room(s, Resource.STAFF)
