"""Walking enrollments: waits end at the right time, messages go through the outbox
once, branches go both ways, opted-out patients leave, edits do not disturb
running enrollments, switched-off automations hold their patients."""

from __future__ import annotations

import json
from datetime import timedelta

from prm_saas.automations import hooks, services
from prm_saas.automations.models import EnrollmentStatus
from prm_saas.automations.services import AutomationInput
from prm_saas.messaging.content import get_content
from prm_saas.messaging.models import Category, Channel, MessageStatus
from prm_saas.messaging.preferences import set_consent
from prm_saas.tags import services as tag_services
from tenants.db import tenant_session
from tests.automations import builders as b
from tests.automations.builders import NOW, later
from tests.factories import World
from tests.tags import builders as tb


def _join(world: World, pid: int | None = None) -> int:
    pid = pid or world.patient_a.id
    with tenant_session(world.a.id) as s:
        hooks.fire(s, "patient_joined", pid, now=NOW)
    return pid


def test_wait_then_message_at_the_right_time(world: World) -> None:
    aid = b.automation(
        world.a,
        world.admin_a,
        "patient_joined",
        [b.msg("第一条"), b.wait(days=2, hours=3), b.msg("第二条 {patient_name}")],
    )
    pid = _join(world)
    first = b.tick(world.a, NOW)
    assert (first.advanced, first.messages) == (1, 1)
    [e] = b.enrollments(world.a, aid)
    assert (e.step_index, e.next_at, e.status) == (2, NOW + timedelta(days=2, hours=3), "active")
    # a minute before the wait ends: nothing
    assert b.tick(world.a, later(days=2, hours=3, minutes=-1)).advanced == 0
    assert len(b.messages(world.a)) == 1
    done = b.tick(world.a, later(days=2, hours=3))
    assert (done.messages, done.completed) == (1, 1)
    [e] = b.enrollments(world.a, aid)
    assert e.status == EnrollmentStatus.COMPLETED
    msgs = b.messages(world.a)
    assert [m.source for m in msgs] == [f"automation:{aid}:0", f"automation:{aid}:2"]
    assert all(m.patient_id == pid and m.category == Category.MARKETING for m in msgs)
    assert msgs[0].template_key.startswith("content:")
    with tenant_session(world.a.id) as s:
        assert get_content(s, int(msgs[1].template_key.split(":")[1])).body.startswith("第二条")
    # later ticks do nothing more
    assert b.tick(world.a, later(days=30)).advanced == 0
    assert len(b.messages(world.a)) == 2
    assert b.messages(world.b) == []


def test_branch_continues_or_exits_on_a_tag_expression(world: World) -> None:
    vip = tb.tag(world.a, world.admin_a, "VIP")
    tb.tag(world.a, world.admin_a, "流失")
    aid = b.automation(
        world.a,
        world.admin_a,
        "patient_joined",
        [b.branch("VIP AND NOT 流失"), b.msg("只给VIP")],
    )
    plain = tb.patient(world.a)
    star = tb.patient(world.a)
    with tenant_session(world.a.id) as s:
        tag_services.add_tags(session=s, actor=world.staff_a, patient_ids=[star], tag_ids=[vip])
    _join(world, plain)
    _join(world, star)
    result = b.tick(world.a, NOW)
    assert (result.messages, result.exited, result.completed) == (1, 1, 1)
    by = {e.patient_id: e for e in b.enrollments(world.a, aid)}
    assert (by[plain].status, by[plain].exit_reason) == ("exited", "branch")
    assert by[star].status == "completed"
    assert [m.patient_id for m in b.messages(world.a)] == [star]


def test_branch_exit_when_matching_on_a_rule_condition(world: World) -> None:
    from prm_saas.accounts.models import Sex

    aid = b.automation(
        world.a,
        world.admin_a,
        "patient_joined",
        [
            b.branch(conditions=[{"key": "sex", "params": {"sex": "male"}}], when_match="exit"),
            b.msg("女士专享"),
        ],
    )
    man = tb.patient(world.a, sex=Sex.MALE)
    woman = tb.patient(world.a, sex=Sex.FEMALE)
    _join(world, man)
    _join(world, woman)
    b.tick(world.a, NOW)
    by = {e.patient_id: e for e in b.enrollments(world.a, aid)}
    assert by[man].status == "exited"
    assert by[woman].status == "completed"
    assert [m.patient_id for m in b.messages(world.a)] == [woman]


def test_an_opted_out_patient_exits_at_the_message(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "patient_joined", [b.msg(channel="inapp")])
    pid = _join(world)
    with tenant_session(world.a.id) as s:
        set_consent(s, patient_id=pid, channel=Channel.INAPP, marketing=False, source="test")
    result = b.tick(world.a, NOW)
    assert (result.messages, result.exited) == (0, 1)
    [e] = b.enrollments(world.a, aid)
    assert (e.status, e.exit_reason) == ("exited", "opted_out")
    assert b.messages(world.a) == []


def test_a_channel_the_clinic_switched_off_is_recorded_and_the_journey_goes_on(
    world: World,
) -> None:
    aid = b.automation(world.a, world.admin_a, "patient_joined", [b.msg(channel="sms")])
    _join(world)
    assert b.tick(world.a, NOW).completed == 1  # SMS is off by default in a tenant
    [m] = b.messages(world.a)
    assert m.channel == Channel.SMS
    assert m.status == MessageStatus.SCHEDULED
    assert b.enrollments(world.a, aid)[0].status == "completed"


def test_an_edit_does_not_disturb_running_enrollments(world: World) -> None:
    steps = [b.msg("旧的第一条"), b.wait(days=1), b.msg("旧的第二条")]
    aid = b.automation(world.a, world.admin_a, "patient_joined", steps)
    first = _join(world)
    b.tick(world.a, NOW)  # first is waiting after step 1 of version 1
    with tenant_session(world.a.id) as s:
        services.update_automation(
            session=s,
            actor=world.admin_a,
            automation_id=aid,
            data=AutomationInput(
                name="新版", trigger="patient_joined", steps=[b.msg("新版唯一一条")]
            ),
            now=NOW,
        )
        detail = services.get_automation(session=s, actor=world.admin_a, automation_id=aid)
    assert detail.version == 2
    assert [st["body"] for st in detail.steps] == ["新版唯一一条"]
    second = _join(world, tb.patient(world.a))
    b.tick(world.a, later(days=1))
    by = {e.patient_id: e for e in b.enrollments(world.a, aid)}
    assert (by[first].version, by[first].status) == (1, "completed")
    assert (by[second].version, by[second].status) == (2, "completed")
    with tenant_session(world.a.id) as s:
        bodies = {
            (m.patient_id, get_content(s, int(m.template_key.split(":")[1])).body)
            for m in b.messages(world.a)
        }
    assert bodies == {(first, "旧的第一条"), (first, "旧的第二条"), (second, "新版唯一一条")}


def test_saving_the_same_steps_keeps_the_version(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "patient_joined", [b.msg("一样")])
    with tenant_session(world.a.id) as s:
        detail = services.get_automation(session=s, actor=world.admin_a, automation_id=aid)
        services.update_automation(
            session=s,
            actor=world.admin_a,
            automation_id=aid,
            data=AutomationInput(name="改名", trigger="patient_joined", steps=detail.steps),
        )
        again = services.get_automation(session=s, actor=world.admin_a, automation_id=aid)
    assert (again.version, again.name) == (1, "改名")
    assert json.dumps(again.steps) == json.dumps(detail.steps)


def test_a_switched_off_automation_holds_its_enrollments(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "patient_joined", [b.msg()])
    _join(world)
    with tenant_session(world.a.id) as s:
        services.set_active(session=s, actor=world.admin_a, automation_id=aid, active=False)
    assert b.tick(world.a, NOW).advanced == 0
    with tenant_session(world.a.id) as s:
        services.set_active(session=s, actor=world.admin_a, automation_id=aid, active=True)
    assert b.tick(world.a, NOW).messages == 1


def test_a_tick_of_one_tenant_never_advances_the_other(world: World) -> None:
    b.automation(world.b, world.admin_b, "patient_joined", [b.msg()])
    with tenant_session(world.b.id) as s:
        hooks.fire(s, "patient_joined", world.patient_b.id, now=NOW)
    assert b.tick(world.a, NOW).advanced == 0
    assert b.enrollments(world.b)[0].status == "active"
    assert b.tick(world.b, NOW).messages == 1


def test_a_broken_enrollment_exits_and_the_others_go_on(world: World) -> None:
    from sqlmodel import select

    from prm_saas.automations.models import AutomationVersion

    broken = b.automation(world.a, world.admin_a, "patient_joined", [b.msg("坏的")])
    fine = b.automation(world.a, world.admin_a, "patient_joined", [b.msg("好的")])
    with tenant_session(world.a.id) as s:
        v = s.exec(select(AutomationVersion).where(AutomationVersion.automation_id == broken)).one()
        v.steps = json.dumps([{"type": "message", "channel": "fax", "content_id": 1}])
        s.add(v)
    _join(world)
    result = b.tick(world.a, NOW)
    assert (result.exited, result.completed, result.messages) == (1, 1, 1)
    [bad] = b.enrollments(world.a, broken)
    assert (bad.status, bad.exit_reason) == ("exited", "error")
    assert b.enrollments(world.a, fine)[0].status == "completed"
