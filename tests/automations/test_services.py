"""Automation services: managers only, another tenant's automation is not found,
bad input is refused per field in both languages with nothing written, and the
list and per-step stats count what happened."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import func, select

from prm_saas.automations import hooks, services
from prm_saas.automations.models import Automation, AutomationVersion
from prm_saas.automations.services import AutomationInput
from prm_saas.i18n import translate
from prm_saas.messaging.content import MessageContent
from tenants.db import tenant_session
from tenants.errors import FieldErrors, NotFound, PermissionDenied
from tests.automations import builders as b
from tests.automations.builders import NOW, later
from tests.factories import World
from tests.tags import builders as tb


def _create(world: World, **kw: Any) -> Any:
    data = AutomationInput(
        name=kw.get("name", "旅程"),
        trigger=kw.get("trigger", "patient_joined"),
        trigger_params=kw.get("params", {}),
        steps=kw.get("steps", [b.msg()]),
    )
    with tenant_session(world.a.id) as s:
        return services.create_automation(session=s, actor=world.admin_a, data=data)


def _errors(world: World, **kw: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    with pytest.raises(FieldErrors) as caught:
        _create(world, **kw)
    return caught.value.errors


def _nothing_written(world: World) -> None:
    with tenant_session(world.a.id) as s:
        for model in (Automation, AutomationVersion, MessageContent):
            assert s.exec(select(func.count()).select_from(model)).one() == 0


def test_bad_input_is_refused_per_field_in_both_languages_and_nothing_is_written(
    world: World,
) -> None:
    errors = _errors(
        world,
        name="",
        trigger="days_after_checkup",
        params={"days": "-3"},
        steps=[
            b.wait(),
            b.msg(body="", channel="sms"),
            b.msg(body="{nope}"),
            {"type": "message", "channel": "fax", "body": "x"},
            b.branch("VIP AND"),
            b.branch("不存在的标签"),
            b.branch(),
            {"type": "teleport"},
        ],
    )
    assert errors["name"][0] == "field.required"
    assert errors["trigger_params.days"][0] == "automations.field.number_invalid"
    assert errors["steps.0.days"][0] == "automations.field.wait_empty"
    assert "steps.1.body" in errors
    assert "steps.2.body" in errors
    assert errors["steps.3.channel"][0] == "automations.field.channel_invalid"
    key, params = errors["steps.4.expr"]
    assert key.startswith("audience.expr.")
    assert params["position"] >= 3
    assert errors["steps.5.expr"][0] == "audience.expr.unknown_tag"
    assert errors["steps.6.expr"][0] == "automations.field.branch_empty"
    assert errors["steps.7.type"][0] == "automations.field.step_invalid"
    for field, (k, p) in errors.items():
        zh, en = translate(k, "zh-CN", **p), translate(k, "en", **p)
        assert zh != en, field
        assert "{" not in zh
        assert "{" not in en
    assert translate(*errors["steps.0.days"][:1], "en") == "The wait cannot be zero."
    _nothing_written(world)


def test_more_bad_input(world: World) -> None:
    assert _errors(world, trigger="whenever")["trigger"][0] == "automations.field.trigger_invalid"
    assert _errors(world, steps=[])["steps"][0] == "automations.field.steps_required"
    assert _errors(world, steps=[b.wait(days=1)])["steps"][0] == "automations.field.no_message"
    assert _errors(world, trigger="tag_added")["trigger_params.tag_id"][0] == "field.required"
    tag_b = tb.tag(world.b, world.admin_b, "VIP")  # another tenant's tag is unknown here
    errs = _errors(world, trigger="tag_added", params={"tag_id": tag_b})
    assert errs["trigger_params.tag_id"][0] == "automations.field.tag_unknown"
    errs = _errors(world, steps=[b.msg(), b.branch(conditions=[{"key": "zodiac"}])])
    assert errs["steps.1.conditions.0.key"][0] == "tags.field.condition_unknown"
    errs = _errors(world, steps=[{**b.msg(), "link": "javascript:alert(1)"}])
    assert errs["steps.0.link"][0] == "field.url_invalid"
    _nothing_written(world)


def test_defaults_no_visit_to_a_year(world: World) -> None:
    a = _create(world, trigger="no_visit")
    with tenant_session(world.a.id) as s:
        detail = services.get_automation(session=s, actor=world.admin_a, automation_id=a.id)
    assert detail.trigger_params == {"days": 365}


def test_only_managers_use_automations(world: World) -> None:
    aid = _create(world).id
    with tenant_session(world.a.id) as s:
        for actor in (world.staff_a, world.patient_a):
            with pytest.raises(PermissionDenied):
                services.list_automations(session=s, actor=actor)
            with pytest.raises(PermissionDenied):
                services.set_active(session=s, actor=actor, automation_id=aid, active=True)
        # nobody, or an admin of another tenant, is not found here (as the house rules say)
        for actor in (None, world.admin_b):
            with pytest.raises(NotFound):
                services.get_automation(session=s, actor=actor, automation_id=aid)


def test_another_tenants_automation_is_not_found(world: World) -> None:
    aid = _create(world).id
    with tenant_session(world.b.id) as s:
        for call in (
            lambda: services.get_automation(session=s, actor=world.admin_b, automation_id=aid),
            lambda: services.automation_stats(session=s, actor=world.admin_b, automation_id=aid),
            lambda: services.set_active(
                session=s, actor=world.admin_b, automation_id=aid, active=True
            ),
            lambda: services.update_automation(
                session=s,
                actor=world.admin_b,
                automation_id=aid,
                data=AutomationInput(name="x", trigger="patient_joined", steps=[b.msg()]),
            ),
        ):
            with pytest.raises(NotFound):
                call()
        assert services.list_automations(session=s, actor=world.admin_b) == []
        with pytest.raises(NotFound):
            services.get_automation(session=s, actor=world.admin_b, automation_id=999999)
        with pytest.raises(NotFound):
            services.get_automation(session=s, actor=world.admin_b, automation_id="abc")  # type: ignore[arg-type]
    with tenant_session(world.a.id) as s:
        assert s.get(Automation, aid).active is False  # type: ignore[union-attr]


def test_list_and_step_stats_count_entered_waiting_sent_exited(world: World) -> None:
    vip = tb.tag(world.a, world.admin_a, "VIP")
    aid = b.automation(
        world.a,
        world.admin_a,
        "patient_joined",
        [b.msg("欢迎"), b.wait(days=1), b.branch("VIP"), b.msg("VIP专享")],
    )
    p1, p2, p3 = tb.patient(world.a), tb.patient(world.a), tb.patient(world.a)
    with tenant_session(world.a.id) as s:
        from prm_saas.tags import services as tag_services

        tag_services.add_tags(session=s, actor=world.staff_a, patient_ids=[p1], tag_ids=[vip])
        for pid in (p1, p2, p3):
            hooks.fire(s, "patient_joined", pid, now=NOW)
    b.tick(world.a, NOW)
    # p3 joined later: still waiting in the wait
    with tenant_session(world.a.id) as s:
        from prm_saas.automations.models import AutomationEnrollment

        e3 = s.exec(select(AutomationEnrollment).where(AutomationEnrollment.patient_id == p3)).one()
        e3.next_at = later(days=5)
        s.add(e3)
    b.tick(world.a, later(days=1))
    with tenant_session(world.a.id) as s:
        from prm_saas.messaging.models import Message, MessageStatus

        for m in s.exec(select(Message)).all():
            m.status = MessageStatus.SENT  # as the delivery would
            s.add(m)
    with tenant_session(world.a.id) as s:
        stats = services.automation_stats(session=s, actor=world.admin_a, automation_id=aid)
        [row] = services.list_automations(session=s, actor=world.admin_a)
    assert [(x.kind, x.entered, x.waiting, x.sent, x.exited) for x in stats] == [
        ("message", 3, 0, 3, 0),
        ("wait", 3, 1, 0, 0),
        ("branch", 2, 0, 0, 1),
        ("message", 1, 0, 1, 0),
    ]
    assert (row.entered, row.waiting, row.completed, row.exited, row.sent) == (3, 1, 1, 1, 4)


def test_enrollments_are_listed_newest_first_and_only_this_tenants(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "patient_joined", [b.msg(), b.wait(days=1), b.msg()])
    first, second = tb.patient(world.a), tb.patient(world.a)
    with tenant_session(world.a.id) as s:
        for pid in (first, second):
            hooks.fire(s, "patient_joined", pid, now=NOW)
    b.tick(world.a, NOW)
    with tenant_session(world.a.id) as s:
        rows = services.list_enrollments(session=s, actor=world.admin_a, automation_id=aid)
        active = services.list_enrollments(
            session=s, actor=world.admin_a, automation_id=aid, status="completed"
        )
        with pytest.raises(FieldErrors):
            services.list_enrollments(
                session=s, actor=world.admin_a, automation_id=aid, status="lost"
            )
    assert [(r.patient_id, r.status, r.step_index) for r in rows] == [
        (second, "active", 2),
        (first, "active", 2),
    ]
    assert rows[0].next_at == later(days=1)
    assert active == []
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.list_enrollments(session=s, actor=world.admin_b, automation_id=aid)
