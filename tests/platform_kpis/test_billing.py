"""The plan catalog and tenants' subscriptions (prm_saas.platform.billing)."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from prm_saas.audit.models import PlatformAuditEvent
from prm_saas.i18n import translate
from prm_saas.platform.billing import (
    current_plans,
    end_subscription,
    list_plans,
    save_plan,
    set_tenant_plan,
    subscription_history,
)
from prm_saas.platform.models import Plan, TenantSubscription
from tenants.db import platform_session, tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tests.factories import World
from tests.platform_kpis.helpers import at, counts, plan, subscribe


def field_keys(exc: pytest.ExceptionInfo[FieldErrors]) -> dict[str, str]:
    return {f: k for f, (k, _p) in exc.value.errors.items()}


def actions() -> list[str]:
    with platform_session() as s:
        return list(
            s.exec(select(PlatformAuditEvent.action).order_by(col(PlatformAuditEvent.id))).all()
        )


# --- the catalog -------------------------------------------------------------------------


def test_operator_creates_and_edits_plans_in_yuan(world: World) -> None:
    basic = plan(world.operator, "basic", "999", sort_order="1")
    pro = plan(world.operator, "pro", "¥2,999.50", sort_order=2)

    assert (basic.code, basic.monthly_fen, basic.monthly_yuan) == ("basic", 99900, "999.00")
    assert pro.monthly_fen == 299950
    with platform_session() as s:
        edited = save_plan(
            session=s,
            actor=world.operator,
            plan_id=basic.id,
            code=" Basic ",
            name_zh="基础版",
            name_en="Basic",
            monthly_yuan="1099",
            active=False,
            sort_order="1",
        )
        rows = list_plans(session=s, actor=world.operator)
        on_sale = list_plans(session=s, actor=world.operator, include_inactive=False)
    assert (edited.id, edited.monthly_fen, edited.active) == (basic.id, 109900, False)
    assert [r.code for r in rows] == ["basic", "pro"]
    assert [r.code for r in on_sale] == ["pro"]
    assert actions() == ["plan.created", "plan.created", "plan.updated"]
    with platform_session() as s:
        ev = s.exec(select(PlatformAuditEvent).order_by(col(PlatformAuditEvent.id).desc())).first()
    assert ev is not None
    assert json.loads(ev.details)["changed"] == ["active", "monthly_fen", "name_zh"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"code": "", "name_zh": "", "name_en": "", "monthly_yuan": ""},
            {
                "code": "field.required",
                "name_zh": "field.required",
                "name_en": "field.required",
                "monthly_yuan": "field.required",
            },
        ),
        (
            {"code": "Pro Plan!", "name_zh": "专业版", "name_en": "Pro", "monthly_yuan": "-5"},
            {"code": "plans.code_invalid", "monthly_yuan": "mall.price_invalid"},
        ),
        (
            {"code": "9lives", "name_zh": "x" * 61, "name_en": "Pro", "monthly_yuan": "1.234"},
            {
                "code": "plans.code_invalid",
                "name_zh": "field.too_long",
                "monthly_yuan": "mall.price_invalid",
            },
        ),
        (
            {
                "code": "pro",
                "name_zh": "专业版",
                "name_en": "Pro",
                "monthly_yuan": "2999",
                "sort_order": "-1",
            },
            {"sort_order": "plans.sort_invalid"},
        ),
    ],
)
def test_bad_plan_data_is_refused_and_nothing_written(
    world: World, fields: dict[str, str], expected: dict[str, str]
) -> None:
    with pytest.raises(FieldErrors) as exc, platform_session() as s:
        save_plan(session=s, actor=world.operator, **fields)  # type: ignore[arg-type]
    assert field_keys(exc) == expected
    assert counts() == (0, 0, 0)
    assert actions() == []


def test_plan_errors_read_in_both_languages(world: World) -> None:
    plan(world.operator, "pro", "2999")
    with pytest.raises(FieldErrors) as exc, platform_session() as s:
        save_plan(
            session=s,
            actor=world.operator,
            code="PRO",
            name_zh="专业版",
            name_en="Pro",
            monthly_yuan="abc",
            sort_order="x",
        )
    errors = exc.value.errors
    assert field_keys(exc) == {
        "code": "plans.code_taken",
        "monthly_yuan": "mall.price_invalid",
        "sort_order": "plans.sort_invalid",
    }
    code_key, code_params = errors["code"]
    assert translate(code_key, "zh-CN", **code_params) == "该套餐代码已被使用。"
    assert translate(code_key, "en", **code_params) == "This plan code is already taken."
    sort_key, sort_params = errors["sort_order"]
    assert translate(sort_key, "zh-CN", **sort_params) == "排序须为 0–9999 之间的整数。"
    assert translate(sort_key, "en", **sort_params) == (
        "The sort order must be a whole number from 0 to 9999."
    )
    assert counts() == (1, 0, 0)


def test_editing_a_missing_plan_is_not_found(world: World) -> None:
    for bad in (987_654, True, "1"):
        with pytest.raises(NotFound), platform_session() as s:
            save_plan(
                session=s,
                actor=world.operator,
                plan_id=bad,  # type: ignore[arg-type]
                code="x1",
                name_zh="x",
                name_en="x",
                monthly_yuan="1",
            )
    assert counts() == (0, 0, 0)


# --- subscriptions -------------------------------------------------------------------------


def test_set_plan_upgrade_and_churn_keep_a_history(world: World) -> None:
    basic = plan(world.operator, "basic", "999")
    pro = plan(world.operator, "pro", "2999")
    subscribe(world.operator, world.a.id, basic.id, at(2026, 9, 10, 8))
    subscribe(world.operator, world.a.id, pro.id, at(2026, 10, 5, 3), reason="客户升级")
    subscribe(world.operator, world.b.id, basic.id, at(2026, 9, 1))

    with platform_session() as s:
        now = current_plans(session=s, actor=world.operator)
    assert {tid: (c.plan_code, c.monthly_fen) for tid, c in now.items()} == {
        world.a.id: ("pro", 299900),
        world.b.id: ("basic", 99900),
    }

    with platform_session() as s:
        ended = end_subscription(
            session=s,
            actor=world.operator,
            tenant_id=world.b.id,
            reason="停业",
            now=at(2026, 11, 2),
        )
        history_a = subscription_history(session=s, actor=world.operator, tenant_id=world.a.id)
        now = current_plans(session=s, actor=world.operator)
    assert (ended.plan_code, ended.ended_at, ended.end_reason) == ("basic", at(2026, 11, 2), "停业")
    assert list(now) == [world.a.id]
    # The upgrade closed the Basic row at the instant the Pro row opened
    assert [(h.plan_code, h.started_at, h.ended_at, h.reason, h.end_reason) for h in history_a] == [
        ("pro", at(2026, 10, 5, 3), None, "客户升级", ""),
        ("basic", at(2026, 9, 10, 8), at(2026, 10, 5, 3), "签约", "客户升级"),
    ]
    assert actions()[-4:] == [
        "tenant.plan_changed",
        "tenant.plan_changed",
        "tenant.plan_changed",
        "tenant.subscription_ended",
    ]
    with platform_session() as s:
        ev = s.exec(
            select(PlatformAuditEvent).where(PlatformAuditEvent.action == "tenant.plan_changed")
        ).all()[1]
    assert ev.subject_tenant_id == world.a.id
    assert json.loads(ev.details) == {
        "from": "basic",
        "to": "pro",
        "monthly_fen": 299900,
        "reason": "客户升级",
    }


def test_a_subscription_keeps_the_price_it_was_sold_at(world: World) -> None:
    basic = plan(world.operator, "basic", "999")
    subscribe(world.operator, world.a.id, basic.id, at(2026, 9, 1))
    with platform_session() as s:
        save_plan(
            session=s,
            actor=world.operator,
            plan_id=basic.id,
            code="basic",
            name_zh="基础版",
            name_en="Basic",
            monthly_yuan="1299",
        )
        now = current_plans(session=s, actor=world.operator)
    assert now[world.a.id].monthly_fen == 99900


def test_the_same_plan_again_is_refused_with_a_clear_message(world: World) -> None:
    basic = plan(world.operator, "basic", "999")
    subscribe(world.operator, world.a.id, basic.id, at(2026, 9, 1))

    with pytest.raises(FieldErrors) as exc:
        subscribe(world.operator, world.a.id, basic.id, at(2026, 10, 1))
    key, params = exc.value.errors["plan_id"]
    assert translate(key, "zh-CN", **params) == "该机构已在使用套餐 basic。"
    assert translate(key, "en", **params) == "This tenant is already on the basic plan."
    assert counts() == (1, 1, 0)


def test_subscription_input_is_checked_and_nothing_written(world: World) -> None:
    basic = plan(world.operator, "basic", "999")
    old = plan(world.operator, "old", "500", active=False)
    subscribe(world.operator, world.a.id, basic.id, at(2026, 9, 1))
    before = actions()

    with pytest.raises(FieldErrors) as exc, platform_session() as s:
        set_tenant_plan(
            session=s, actor=world.operator, tenant_id=world.a.id, plan_id=basic.id, reason="  "
        )
    assert field_keys(exc) == {"reason": "field.required"}
    with pytest.raises(FieldErrors) as exc, platform_session() as s:
        set_tenant_plan(
            session=s, actor=world.operator, tenant_id=world.b.id, plan_id=old.id, reason="试试"
        )
    assert field_keys(exc) == {"plan_id": "subscription.plan_inactive"}
    for tenant_id, plan_id in ((987_654, basic.id), (world.b.id, 987_654), (True, basic.id)):
        with pytest.raises(NotFound), platform_session() as s:
            set_tenant_plan(
                session=s,
                actor=world.operator,
                tenant_id=tenant_id,
                plan_id=plan_id,
                reason="x",
            )
    with pytest.raises(NotFound), platform_session() as s:
        end_subscription(session=s, actor=world.operator, tenant_id=987_654, reason="x")
    with pytest.raises(DomainError) as derr, platform_session() as s:
        end_subscription(session=s, actor=world.operator, tenant_id=world.b.id, reason="x")
    assert derr.value.key == "subscription.none_open"
    assert translate(derr.value.key, "en") == "This tenant has no subscription to end."
    assert translate(derr.value.key, "zh-CN") == "该机构当前没有订阅。"

    assert counts() == (2, 1, 0)
    assert actions() == before
    with platform_session() as s:
        sub = s.exec(select(TenantSubscription)).one()
    assert (sub.subject_tenant_id, sub.ended_at) == (world.a.id, None)


def test_the_database_allows_one_open_subscription_per_tenant(world: World) -> None:
    basic = plan(world.operator, "basic", "999")
    subscribe(world.operator, world.a.id, basic.id, at(2026, 9, 1))
    with pytest.raises(IntegrityError), platform_session() as s:
        s.add(
            TenantSubscription(
                subject_tenant_id=world.a.id,
                plan_id=basic.id,
                monthly_fen=1,
                started_at=at(2026, 9, 2),
            )
        )
        s.flush()
    # A closed row beside the open one is fine
    with platform_session() as s:
        s.add(
            TenantSubscription(
                subject_tenant_id=world.a.id,
                plan_id=basic.id,
                monthly_fen=1,
                started_at=at(2026, 1, 1),
                ended_at=at(2026, 2, 1),
            )
        )
    assert counts() == (1, 2, 0)


# --- who may -----------------------------------------------------------------------------


def test_tenant_people_get_the_same_refusal_as_require_operator_gives(world: World) -> None:
    basic = plan(world.operator, "basic", "999")
    subscribe(world.operator, world.a.id, basic.id, at(2026, 9, 1))
    calls = [
        lambda s, p: list_plans(session=s, actor=p),
        lambda s, p: save_plan(
            session=s, actor=p, code="evil", name_zh="x", name_en="x", monthly_yuan="1"
        ),
        lambda s, p: save_plan(
            session=s,
            actor=p,
            plan_id=basic.id,
            code="basic",
            name_zh="x",
            name_en="x",
            monthly_yuan="0",
        ),
        lambda s, p: set_tenant_plan(
            session=s, actor=p, tenant_id=world.a.id, plan_id=basic.id, reason="x"
        ),
        lambda s, p: end_subscription(session=s, actor=p, tenant_id=world.a.id, reason="x"),
        lambda s, p: current_plans(session=s, actor=p),
        lambda s, p: subscription_history(session=s, actor=p, tenant_id=world.a.id),
    ]
    for someone in (world.admin_a, world.staff_b, world.patient_a, None):
        for call in calls:
            # Even a missing tenant gives the same refusal: nothing is looked up first.
            with pytest.raises(PermissionDenied), platform_session() as s:
                call(s, someone)
    assert counts() == (1, 1, 0)
    with platform_session() as s:
        assert s.exec(select(Plan.monthly_fen)).one() == 99900


@pytest.mark.postgres_only
def test_a_tenant_session_cannot_see_platform_billing_rows(world: World) -> None:
    basic = plan(world.operator, "basic", "999")
    subscribe(world.operator, world.a.id, basic.id, at(2026, 9, 1))
    with tenant_session(world.a.id) as s:
        n_plans = s.execute(sa.text("SELECT count(*) FROM plan")).scalar_one()
        n_subs = s.execute(sa.text("SELECT count(*) FROM tenant_subscription")).scalar_one()
    assert (n_plans, n_subs) == (0, 0)


@pytest.mark.postgres_only
def test_concurrent_plan_changes_leave_one_open_row_and_a_chain(world: World) -> None:
    from tests.concurrency import race

    codes = [plan(world.operator, f"p{i}", str(100 * (i + 1))).id for i in range(3)]

    def change(i: int) -> None:
        with platform_session() as s:
            set_tenant_plan(
                session=s,
                actor=world.operator,
                tenant_id=world.a.id,
                plan_id=codes[i % 3],
                reason=f"第{i}次",
            )

    outcomes = race(8, change)
    # The tenant row lock puts the changes one after another: each either opens
    # the next row or finds the tenant already on that plan.
    assert set(outcomes) <= {"ok", "error.invalid_input"}, outcomes
    with platform_session() as s:
        rows = s.exec(select(TenantSubscription).order_by(col(TenantSubscription.started_at))).all()
    assert len(rows) == outcomes["ok"]
    assert [r.ended_at is None for r in rows] == [False] * (len(rows) - 1) + [True]
    for before, after in pairwise(rows):
        assert before.ended_at == after.started_at
        assert before.plan_id != after.plan_id
