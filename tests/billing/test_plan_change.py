"""Plan changes by the tenant admin against localstripe: free in a trial, an upgrade
invoiced and paid at once with our proration, a downgrade credited on the next
invoice, refused below current usage; bad input and the tenant wall."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlmodel import col, select

from prm_saas.audit.models import AuditEvent, PlatformAuditEvent
from prm_saas.billing import engine, services
from prm_saas.i18n import translate
from prm_saas.platform.models import TenantSubscription
from tenants.db import platform_session, tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tests.billing import helpers as h
from tests.factories import World, make_staff


def _active(world: World, plan_id: int) -> datetime:
    """Tenant A past its trial on ``plan_id`` with a paid first month; the period's start."""
    t0 = h.now()
    h.open_billing(world.a, plan_id, t0)
    h.save_card(world.a, world.admin_a)
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    assert h.status(world.a) == "active"
    return end


def _change(world: World, plan_id: object, now: datetime | None = None) -> engine.PlanChange:
    with tenant_session(world.a.id) as s:
        return services.change_plan(
            session=s,
            actor=world.admin_a,
            plan_id=plan_id,  # type: ignore[arg-type]
            now=now,
        )


def _expected(old: int, new: int, start: datetime, end: datetime, at: datetime) -> int:
    r = (end - at).total_seconds() / (end - start).total_seconds()
    return round(new * r) - round(old * r)


def test_a_change_in_the_trial_is_free_and_moves_the_stripe_subscription(world: World) -> None:
    plans = h.make_plans()
    t0 = h.now()
    tb = h.open_billing(world.a, plans.basic, t0)
    done = _change(world, plans.pro, now=t0 + timedelta(days=2))
    assert (done.in_trial, done.net_fen, done.invoice_id) == (True, 0, None)
    rows = h.history(world.a)
    assert [(r.plan_id, r.ended_at is None) for r in rows] == [
        (plans.basic, False),
        (plans.pro, True),
    ]
    assert rows[0].ended_at == rows[1].started_at == t0 + timedelta(days=2)
    sub = h.stripe_get(f"/v1/subscriptions/{tb.stripe_subscription_id}")
    assert sub["plan"]["id"] == h.billing(world.a).stripe_plan_id
    assert sub["plan"]["amount"] == 300000
    assert h.pending_items(tb.stripe_customer_id) == []
    assert h.invoices(world.a) == []
    # audited in the tenant's log and the platform's
    with tenant_session(world.a.id) as s:
        assert [e.action for e in s.exec(select(AuditEvent)).all()] == ["billing.plan_changed"]
    with platform_session() as s:
        actions = [e.action for e in s.exec(select(PlatformAuditEvent)).all()]
    assert "billing.plan_changed" in actions


def test_an_upgrade_is_prorated_invoiced_and_paid_at_once(world: World) -> None:
    plans = h.make_plans()
    start = _active(world, plans.basic)
    end = start + relativedelta(months=1)
    at = start + timedelta(days=10)
    with tenant_session(world.a.id) as s:
        preview = services.preview_plan_change(
            session=s, actor=world.admin_a, plan_id=plans.pro, now=at
        )
    net = _expected(100000, 300000, start, end, at)
    assert (preview.upgrade, preview.in_trial, preview.net_fen) == (True, False, net)
    done = _change(world, plans.pro, now=at)
    assert done.net_fen == net > 0
    # one invoice for the difference, paid; its only line is the plan change
    inv = h.invoices(world.a)[-1]
    assert inv.id == done.invoice_id
    assert (inv.billing_reason, inv.status, inv.amount_paid_fen) == ("plan_change", "paid", net)
    assert [(ln["kind"], ln["amount_fen"]) for ln in h.lines(inv)] == [("proration", net)]
    assert "基础版 → 专业版" in h.lines(inv)[0]["description"]
    stripe_inv = h.stripe_get(f"/v1/invoices/{inv.stripe_invoice_id}")
    assert (stripe_inv["status"], stripe_inv["amount_paid"]) == ("paid", net)
    # localstripe's own "Unused time" credits are gone; nothing is pending
    tb = h.billing(world.a)
    assert h.pending_items(tb.stripe_customer_id) == []
    # the next renewal bills Pro's price
    engine.run_cycle(now=end + timedelta(minutes=1))
    renewal = h.invoices(world.a)[-1]
    assert (renewal.billing_reason, renewal.total_fen, renewal.status) == (
        "renewal",
        300000,
        "paid",
    )


def test_a_downgrade_is_credited_on_the_next_invoice(world: World) -> None:
    plans = h.make_plans()
    start = _active(world, plans.pro)
    end = start + relativedelta(months=1)
    at = start + timedelta(days=20)
    done = _change(world, plans.basic, now=at)
    net = _expected(300000, 100000, start, end, at)
    assert done.net_fen == net < 0
    assert done.invoice_id is None
    tb = h.billing(world.a)
    (item,) = h.pending_items(tb.stripe_customer_id)
    assert (item["amount"], item["metadata"]["kind"]) == (net, "proration")
    engine.run_cycle(now=end + timedelta(minutes=1))
    renewal = h.invoices(world.a)[-1]
    assert renewal.total_fen == 100000 + net
    assert sorted(ln["kind"] for ln in h.lines(renewal)) == ["proration", "subscription"]


def test_a_downgrade_below_current_usage_is_refused_saying_what_is_over(world: World) -> None:
    plans = h.make_plans()
    t0 = h.now()
    tb = h.open_billing(world.a, plans.pro, t0)
    make_staff(world.a)
    make_staff(world.a)  # 4 staff; Basic allows 3
    with pytest.raises(services.DowngradeOverLimit) as err:
        _change(world, plans.basic, now=t0 + timedelta(days=1))
    assert err.value.key == "billing.downgrade_over_limit"
    assert translate(err.value.key, "en").startswith("Cannot downgrade")
    assert translate(err.value.key, "zh-CN").startswith("无法降级")
    # what is over, in both languages
    key, params = err.value.errors["staff"]
    assert list(err.value.errors) == ["staff"]
    assert translate(key, "zh-CN", **params).startswith("员工 4/3")
    assert translate(key, "en", **params).startswith("staff 4/3")
    # nothing changed, here or at Stripe
    assert [r.plan_id for r in h.history(world.a)] == [plans.pro]
    sub = h.stripe_get(f"/v1/subscriptions/{tb.stripe_subscription_id}")
    assert sub["plan"]["amount"] == 300000
    # tenant B (same plans, one staff member) may downgrade
    h.open_billing(world.b, plans.pro, t0)
    with tenant_session(world.b.id) as s:
        services.change_plan(session=s, actor=world.admin_b, plan_id=plans.basic)
    assert [r.plan_id for r in h.history(world.b)] == [plans.pro, plans.basic]


def test_an_upgrade_without_a_card_or_with_a_failing_one_changes_nothing(world: World) -> None:
    plans = h.make_plans()
    t0 = h.now()
    h.open_billing(world.a, plans.basic, t0)
    end = h.trial_end(world.a)
    h.save_card(world.a, world.admin_a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    # the card is replaced by one whose charges fail
    h.save_card(world.a, world.admin_a, h.CARD_CHARGE_FAILS)
    before = len(h.invoices(world.a))
    with pytest.raises(DomainError) as err:
        _change(world, plans.pro, now=end + timedelta(days=3))
    assert err.value.key == "billing.payment_failed"
    assert translate(err.value.key, "en").startswith("The payment failed")
    assert [r.plan_id for r in h.history(world.a)] == [plans.basic]
    tb = h.billing(world.a)
    assert h.pending_items(tb.stripe_customer_id) == []
    assert len(h.invoices(world.a)) == before
    assert h.stripe_get(f"/v1/subscriptions/{tb.stripe_subscription_id}")["plan"]["amount"] == (
        100000
    )


def test_an_upgrade_needs_a_card(world: World) -> None:
    plans = h.make_plans()
    t0 = h.now()
    h.open_billing(world.a, plans.basic, t0)
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))  # past due, no card
    with pytest.raises(DomainError) as err:
        _change(world, plans.pro, now=end + timedelta(days=1))
    assert err.value.key == "billing.card_required"
    assert [r.plan_id for r in h.history(world.a)] == [plans.basic]


@pytest.mark.parametrize(
    ("plan_id", "key"),
    [
        (True, "billing.plan_invalid"),
        ("1", "billing.plan_invalid"),
        (0, "billing.plan_invalid"),
        (-3, "billing.plan_invalid"),
        (None, "billing.plan_invalid"),
        (999_999, "billing.plan_invalid"),
        ("legacy", "billing.plan_inactive"),
        ("same", "billing.same_plan"),
    ],
)
def test_bad_plan_ids_are_refused_with_a_message_and_nothing_written(
    world: World, plan_id: object, key: str
) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    target = {"legacy": plans.legacy, "same": plans.basic}.get(str(plan_id), plan_id)
    for call in ("preview", "change"):
        with tenant_session(world.a.id) as s, pytest.raises(FieldErrors) as err:
            if call == "preview":
                services.preview_plan_change(
                    session=s,
                    actor=world.admin_a,
                    plan_id=target,  # type: ignore[arg-type]
                )
            else:
                services.change_plan(
                    session=s,
                    actor=world.admin_a,
                    plan_id=target,  # type: ignore[arg-type]
                )
        msg_key, params = err.value.errors["plan_id"]
        assert msg_key == key
        assert translate(msg_key, "zh-CN", **params) != msg_key
        assert translate(msg_key, "en", **params) != translate(msg_key, "zh-CN", **params)
    assert [r.plan_id for r in h.history(world.a)] == [plans.basic]
    with platform_session() as s:
        assert s.exec(select(PlatformAuditEvent.action)).all().count("billing.plan_changed") == 0


def test_only_the_tenants_own_admins_change_its_plan(world: World) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    h.open_billing(world.b, plans.basic, h.now())
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            services.change_plan(session=s, actor=world.staff_a, plan_id=plans.pro)
        with pytest.raises(NotFound):
            services.change_plan(session=s, actor=world.admin_b, plan_id=plans.pro)
        with pytest.raises(NotFound):
            services.preview_plan_change(session=s, actor=world.admin_b, plan_id=plans.pro)
        with pytest.raises(PermissionDenied):
            services.billing_overview(session=s, actor=world.patient_a)
    for t in (world.a, world.b):
        with platform_session() as s:
            rows = s.exec(
                select(TenantSubscription).where(
                    TenantSubscription.subject_tenant_id == t.id,
                    col(TenantSubscription.ended_at).is_(None),
                )
            ).all()
        assert [r.plan_id for r in rows] == [plans.basic]
