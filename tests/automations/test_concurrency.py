"""Races on PostgreSQL: ticks at once walk each step once and record each message
once; hooks for the same occurrence at once enroll once."""

from __future__ import annotations

import pytest

from prm_saas.automations import hooks
from prm_saas.automations.engine import advance_due
from tenants.db import tenant_session
from tests.automations import builders as b
from tests.automations.builders import NOW, later
from tests.concurrency import race
from tests.factories import World
from tests.tags import builders as tb

pytestmark = pytest.mark.postgres_only


def test_ticks_at_once_send_each_step_once(world: World) -> None:
    aid = b.automation(
        world.a,
        world.admin_a,
        "patient_joined",
        [b.msg("一"), b.wait(days=1), b.msg("二")],
    )
    patients = [tb.patient(world.a) for _ in range(12)]
    with tenant_session(world.a.id) as s:
        for pid in patients:
            hooks.fire(s, "patient_joined", pid, now=NOW)

    advanced: list[int] = []

    def tick(_i: int, when: object = NOW) -> None:
        with tenant_session(world.a.id) as s:
            result = advance_due(s, now=when, limit=5)  # type: ignore[arg-type]
        advanced.append(result.advanced)

    for when in (NOW, later(days=1)):
        advanced.clear()
        for _ in range(3):  # limit 5 per pass: a few rounds drain 12 patients
            assert race(6, lambda i, w=when: tick(i, w)) == {"ok": 6}
        # each enrollment was moved by exactly one of the racing ticks
        assert sum(advanced) == len(patients)
    rows = b.enrollments(world.a, aid)
    assert {r.status for r in rows} == {"completed"}
    sources = sorted((m.patient_id, m.source) for m in b.messages(world.a))
    assert sources == sorted(
        (pid, f"automation:{aid}:{step}") for pid in patients for step in (0, 2)
    )


def test_the_same_occurrence_fired_at_once_enrolls_once(world: World) -> None:
    aid = b.automation(world.a, world.admin_a, "booking_completed", [b.msg()])
    pid = world.patient_a.id

    def fire(_i: int) -> None:
        with tenant_session(world.a.id) as s:
            hooks.fire(s, "booking_completed", pid, now=NOW, booking_id=42)

    assert race(8, fire) == {"ok": 8}
    assert [r.occurrence for r in b.enrollments(world.a, aid)] == ["booking:42"]


def test_switching_a_builtin_on_at_once_makes_one_journey(world: World) -> None:
    from sqlmodel import select

    from prm_saas.automations import services
    from prm_saas.automations.models import Automation

    def enable(_i: int) -> None:
        with tenant_session(world.a.id) as s:
            services.enable_builtin(session=s, actor=world.admin_a, key="welcome")

    assert race(4, enable) == {"ok": 4}
    with tenant_session(world.a.id) as s:
        rows = s.exec(select(Automation)).all()
    assert [(r.builtin, r.active) for r in rows] == [("welcome", True)]
