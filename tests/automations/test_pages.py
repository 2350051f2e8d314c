"""The automations page builds, and its editor rows become the service's steps and
back without losing anything (a malformed conditions text reaches the service,
which refuses it per field)."""

from __future__ import annotations

import pytest

from pages.admin.automations import _editor_row, _service_step, automations_page
from prm_saas.automations import services
from prm_saas.automations.services import AutomationInput
from tenants.db import tenant_session
from tenants.errors import FieldErrors
from tests.automations import builders as b
from tests.factories import World
from tests.tags import builders as tb


def test_the_page_builds() -> None:
    assert automations_page() is not None


def test_editor_rows_round_trip_through_the_service(world: World) -> None:
    tb.tag(world.a, world.admin_a, "VIP")
    steps = [
        {**b.msg("你好 {link}", channel="email", subject="问候"), "link": "https://x.test/a"},
        b.wait(days=2, hours=5),
        b.branch("VIP", [{"key": "sex", "params": {"sex": "female"}}], when_match="exit"),
        b.msg("再见"),
    ]
    aid = b.automation(world.a, world.admin_a, "patient_joined", steps)
    with tenant_session(world.a.id) as s:
        detail = services.get_automation(session=s, actor=world.admin_a, automation_id=aid)
    rows = [_editor_row(x) for x in detail.steps]
    assert rows[0]["subject"] == "问候"
    assert rows[0]["link"] == "https://x.test/a"
    assert (rows[1]["days"], rows[1]["hours"]) == ("2", "5")
    assert rows[2]["when_match"] == "exit"
    with tenant_session(world.a.id) as s:
        services.update_automation(
            session=s,
            actor=world.admin_a,
            automation_id=aid,
            data=AutomationInput(
                name="旅程", trigger="patient_joined", steps=[_service_step(r) for r in rows]
            ),
        )
        again = services.get_automation(session=s, actor=world.admin_a, automation_id=aid)
    assert again.version == 1  # nothing changed: no new version


def test_malformed_conditions_text_is_refused_by_the_service(world: World) -> None:
    row = _editor_row(b.branch())
    row["conditions"] = "[{not json"
    with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as caught:
        services.create_automation(
            session=s,
            actor=world.admin_a,
            data=AutomationInput(
                name="x", trigger="patient_joined", steps=[_service_step(row), b.msg()]
            ),
        )
    assert "steps.0.conditions" in caught.value.errors
