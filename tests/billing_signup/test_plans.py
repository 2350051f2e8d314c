"""Plan limits in the operator's plan editor (prm_saas.platform.billing.save_plan):
typed as text, empty = unlimited, the overage in yuan; bad values refused with a
message in both languages and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import col, func, select

from prm_saas.audit.models import PlatformAuditEvent
from prm_saas.i18n import translate
from prm_saas.platform.billing import list_plans, save_plan
from prm_saas.platform.models import Plan
from tenants.db import platform_session
from tenants.errors import FieldErrors
from tests.billing_signup.helpers import plan
from tests.factories import World


def test_limits_are_saved_and_listed(world: World) -> None:
    row = plan(
        world.operator,
        "basic",
        "999",
        max_staff="5",
        max_locations=" 1 ",
        max_active_patients="2,000",
        messages_included="2000",
        message_overage_yuan="0.05",
        messages_cap="10000",
        trial_days="30",
    )
    assert (row.max_staff, row.max_locations, row.max_active_patients) == (5, 1, 2000)
    assert (row.messages_included, row.messages_cap, row.trial_days) == (2000, 10000, 30)
    assert (row.message_overage_fen, row.message_overage_yuan) == (5, "0.05")
    with platform_session() as s:
        [listed] = list_plans(session=s, actor=world.operator)
    assert listed == row


def test_empty_means_unlimited_and_missing_keeps_the_value(world: World) -> None:
    row = plan(world.operator, "pro", "2999", max_staff="20", messages_cap="100")
    unlimited = plan(world.operator, "ent", "9999", max_staff="", messages_included="")
    assert (unlimited.max_staff, unlimited.messages_cap, unlimited.messages_included) == (
        None,
        None,
        0,
    )
    assert unlimited.trial_days == 14

    def edit(**kw: Any) -> Any:
        with platform_session() as s:
            return save_plan(
                session=s,
                actor=world.operator,
                plan_id=row.id,
                code="pro",
                name_zh="专业版",
                name_en="Pro",
                monthly_yuan="2999",
                **kw,
            )

    kept = edit()  # an editor that does not send the limits changes none of them
    assert (kept.max_staff, kept.messages_cap) == (20, 100)
    cleared = edit(max_staff="", messages_cap="")
    assert (cleared.max_staff, cleared.messages_cap) == (None, None)
    with platform_session() as s:
        last = s.exec(
            select(PlatformAuditEvent).order_by(col(PlatformAuditEvent.id).desc())
        ).first()
    assert last is not None
    assert {"max_staff", "messages_cap"} <= set(json.loads(last.details)["changed"])


@pytest.mark.parametrize(
    ("over", "field", "key"),
    [
        ({"max_staff": "-1"}, "max_staff", "limits.number_invalid"),
        ({"max_staff": "abc"}, "max_staff", "limits.number_invalid"),
        ({"max_staff": "1.5"}, "max_staff", "limits.number_invalid"),
        ({"max_staff": True}, "max_staff", "limits.number_invalid"),
        ({"max_locations": "１２"}, "max_locations", "limits.number_invalid"),
        ({"max_active_patients": "99999999999"}, "max_active_patients", "limits.number_invalid"),
        ({"messages_cap": ["1"]}, "messages_cap", "limits.number_invalid"),
        ({"messages_included": "many"}, "messages_included", "limits.count_invalid"),
        ({"trial_days": "91"}, "trial_days", "limits.count_invalid"),
        ({"trial_days": -3}, "trial_days", "limits.count_invalid"),
        ({"message_overage_yuan": "abc"}, "message_overage_yuan", "mall.price_invalid"),
        ({"message_overage_yuan": "0.005"}, "message_overage_yuan", "mall.price_invalid"),
        (
            {"messages_included": "2000", "messages_cap": "100"},
            "messages_cap",
            "limits.cap_below_included",
        ),
    ],
)
def test_bad_limits_are_refused_in_both_languages_and_nothing_is_written(
    world: World, over: dict[str, Any], field: str, key: str
) -> None:
    with pytest.raises(FieldErrors) as exc:
        plan(world.operator, "basic", "999", **over)
    found, params = exc.value.errors[field]
    assert found == key
    zh, en = translate(key, "zh-CN", **params), translate(key, "en", **params)
    assert key not in (zh, en)
    assert zh != en
    with platform_session() as s:
        assert int(s.exec(select(func.count()).select_from(Plan)).one()) == 0
