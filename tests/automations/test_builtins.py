"""The built-in journeys: welcome on joining, the satisfaction survey N days after a
checkup, win-back after twelve months without a visit; in the tenant's language."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from prm_saas.accounts.patients import register_patient
from prm_saas.automations import services
from prm_saas.booking import frontdesk
from prm_saas.booking.models import BookingStatus
from prm_saas.messaging.content import get_content
from prm_saas.messaging.models import Channel
from tenants.db import tenant_session
from tenants.errors import NotFound
from tenants.types import utcnow
from tests.automations import builders as b
from tests.automations.builders import NOW, later
from tests.factories import World, make_admin, make_tenant
from tests.tags import builders as tb


def _enable(tenant: object, admin: object, key: str) -> int:
    with tenant_session(tenant.id) as s:  # type: ignore[attr-defined]
        return int(
            services.enable_builtin(session=s, actor=admin, key=key, now=NOW).id or 0  # type: ignore[arg-type]
        )


def _bodies(tenant: object) -> list[tuple[int | None, str, str]]:
    with tenant_session(tenant.id) as s:  # type: ignore[attr-defined]
        return [
            (m.patient_id, m.channel, get_content(s, int(m.template_key.split(":")[1])).body)
            for m in b.messages(tenant)  # type: ignore[arg-type]
        ]


def test_welcome_journey_greets_a_new_patient_in_the_tenant_language(world: World) -> None:
    aid = _enable(world.a, world.admin_a, "welcome")
    assert _enable(world.a, world.admin_a, "welcome") == aid  # switching on twice: one journey
    with tenant_session(world.a.id) as s:
        reg = register_patient(
            session=s,
            name="新客户",
            phone="13912340000",
            password="Secret123abc",
            password_confirm="Secret123abc",
        )
        rows = services.list_builtins(session=s, actor=world.admin_a)
    assert {(r.key, r.automation_id > 0, r.active) for r in rows} == {
        ("welcome", True, True),
        ("survey", False, False),
        ("winback", False, False),
    }
    assert b.tick(world.a, utcnow() + timedelta(minutes=1)).messages == 1  # joined now
    [(pid, channel, body)] = _bodies(world.a)
    assert (pid, channel) == (reg.principal.id, Channel.INAPP)
    assert "欢迎加入" in body

    en = make_tenant("en-clinic", default_locale="en")
    _enable(en, make_admin(en), "welcome")
    with tenant_session(en.id) as s:
        register_patient(
            session=s,
            name="Ann",
            email="ann@example.com",
            password="Secret123abc",
            password_confirm="Secret123abc",
        )
    b.tick(en, utcnow() + timedelta(minutes=1))
    [(_pid, _ch, body)] = _bodies(en)
    assert body.startswith("Hello {patient_name}, welcome")


def test_switching_off_and_on_keeps_the_managers_edits(world: World) -> None:
    aid = _enable(world.a, world.admin_a, "welcome")
    with tenant_session(world.a.id) as s:
        detail = services.get_automation(session=s, actor=world.admin_a, automation_id=aid)
        steps = [dict(detail.steps[0], body="改过的欢迎语 {patient_name}")]
        services.update_automation(
            session=s,
            actor=world.admin_a,
            automation_id=aid,
            data=services.AutomationInput(name=detail.name, trigger=detail.trigger, steps=steps),
        )
        services.set_active(session=s, actor=world.admin_a, automation_id=aid, active=False)
    assert _enable(world.a, world.admin_a, "welcome") == aid
    with tenant_session(world.a.id) as s:
        detail = services.get_automation(session=s, actor=world.admin_a, automation_id=aid)
    assert detail.active is True
    assert detail.steps[0]["body"] == "改过的欢迎语 {patient_name}"
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        services.enable_builtin(session=s, actor=world.admin_a, key="nonsense")


def test_survey_goes_three_days_after_a_completed_checkup(world: World) -> None:
    b.enable_sms(world.a)
    _enable(world.a, world.admin_a, "survey")
    pid = world.patient_a.id
    bid = tb.booking(world.a, pid, date(2026, 12, 1), BookingStatus.CHECKED_IN)
    with tenant_session(world.a.id) as s:
        frontdesk.complete(session=s, actor=world.staff_a, booking_id=bid, now=NOW)
    assert b.tick(world.a, later(days=3, minutes=-1)).messages == 0
    assert b.tick(world.a, later(days=3)).messages == 1
    [(who, channel, body)] = _bodies(world.a)
    assert (who, channel) == (pid, Channel.SMS)
    assert "满意" in body


def test_winback_reminds_twice_unless_the_patient_came_back(world: World) -> None:
    b.enable_sms(world.a)
    aid = _enable(world.a, world.admin_a, "winback")
    away, back = tb.patient(world.a), tb.patient(world.a)
    for pid in (away, back):
        tb.booking(world.a, pid, date(2025, 11, 30), BookingStatus.COMPLETED)
    assert b.scan(world.a, NOW)["no_visit"] == 2
    assert b.tick(world.a, NOW).messages == 2
    tb.booking(world.a, back, date(2026, 12, 15), BookingStatus.COMPLETED)  # came back
    result = b.tick(world.a, NOW + timedelta(days=30))
    assert (result.messages, result.exited, result.completed) == (1, 1, 1)
    by = {e.patient_id: e for e in b.enrollments(world.a, aid)}
    assert (by[back].status, by[back].exit_reason) == ("exited", "branch")
    assert by[away].status == "completed"
    assert [who for who, _c, _b in _bodies(world.a)] == [away, back, away]
    # the next day's scan does not start the lapsed patient over (same last visit)
    assert b.scan(world.a, NOW + timedelta(days=31))["no_visit"] == 0
