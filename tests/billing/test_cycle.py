"""The billing cycle (beat's billing.cycle) against localstripe: trial ends, renewals,
usage on the invoice exactly once, payment failures, grace and suspension."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from prm_saas.billing import engine
from prm_saas.billing.models import Suspension
from tests.billing import helpers as h
from tests.factories import World


def test_a_trial_ending_with_a_card_is_invoiced_paid_and_active(world: World) -> None:
    # given tenant A on Basic in its trial, with a card on file
    plans = h.make_plans()
    t0 = h.now()
    tb = h.open_billing(world.a, plans.basic, t0)
    h.save_card(world.a, world.admin_a)
    assert h.status(world.a) == "trial"
    # when the cycle runs just after the trial's end
    end = h.trial_end(world.a)
    report = engine.run_cycle(now=end + timedelta(minutes=5))
    # then the first month was invoiced and paid, and the tenant is active
    assert report.periods == 1
    assert report.invoices_paid == 1
    assert h.status(world.a) == "active"
    (inv,) = h.invoices(world.a)
    assert (inv.status, inv.total_fen, inv.amount_paid_fen) == ("paid", 100000, 100000)
    assert inv.billing_reason == "trial_end"
    assert inv.period_start == end
    assert inv.period_end == end + relativedelta(months=1)
    assert [ln["kind"] for ln in h.lines(inv)] == ["subscription"]
    # the period moved on by a month and the Stripe invoice says the same
    after = h.billing(world.a)
    assert (after.current_period_start, after.current_period_end) == (
        end,
        end + relativedelta(months=1),
    )
    (stripe_inv,) = h.stripe_invoices(tb.stripe_customer_id)
    assert stripe_inv["status"] == "paid"
    assert stripe_inv["amount_paid"] == 100000
    # and tenant B (no account) was not touched
    assert h.status(world.b) == "active"
    assert h.invoices(world.b) == []


def test_a_trial_ending_without_a_card_is_past_due_then_suspended_after_grace(
    world: World,
) -> None:
    # given two tenants in their trial, neither with a card
    plans = h.make_plans()
    t0 = h.now()
    h.open_billing(world.a, plans.basic, t0)
    h.open_billing(world.b, plans.pro, t0 + timedelta(days=10))
    # when the cycle runs after A's trial ended (B's has not)
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    # then A is past due since then, with its first invoice unpaid; B is still trialing
    a = h.billing(world.a)
    assert h.status(world.a) == "past_due"
    assert a.past_due_since == end + timedelta(minutes=1)
    assert [(i.status, i.amount_due_fen) for i in h.invoices(world.a)] == [("draft", 100000)]
    assert h.status(world.b) == "trial"
    # when the cycle runs within the grace period nothing more happens
    report = engine.run_cycle(now=end + timedelta(days=6))
    assert (report.periods, report.suspended) == (0, 0)
    assert h.status(world.a) == "past_due"
    # and after the grace period (7 days) A is suspended for billing
    report = engine.run_cycle(now=end + timedelta(days=7, minutes=2))
    assert report.suspended == 1
    a = h.billing(world.a)
    assert (h.status(world.a), a.suspension) == ("suspended", Suspension.BILLING)
    assert h.status(world.b) == "trial"


def test_renewals_are_invoiced_paid_and_the_period_advances_each_month(world: World) -> None:
    plans = h.make_plans()
    t0 = h.now()
    h.open_billing(world.a, plans.basic, t0)
    h.save_card(world.a, world.admin_a)
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    # two more months pass
    for months in (1, 2):
        engine.run_cycle(now=end + relativedelta(months=months) + timedelta(minutes=1))
    invs = h.invoices(world.a)
    assert [(i.billing_reason, i.status, i.total_fen) for i in invs] == [
        ("trial_end", "paid", 100000),
        ("renewal", "paid", 100000),
        ("renewal", "paid", 100000),
    ]
    assert [i.period_start for i in invs] == [end + relativedelta(months=m) for m in (0, 1, 2)]
    tb = h.billing(world.a)
    assert tb.current_period_start == end + relativedelta(months=2)
    assert tb.current_period_end == end + relativedelta(months=3)
    assert len(h.stripe_invoices(tb.stripe_customer_id)) == 3
    assert h.status(world.a) == "active"
    # a cycle at the same instant again bills nothing
    report = engine.run_cycle(now=end + relativedelta(months=2) + timedelta(minutes=2))
    assert report.periods == 0
    assert len(h.invoices(world.a)) == 3


def test_usage_beyond_the_allowance_is_on_the_next_invoice_exactly_once(world: World) -> None:
    # given A active on Basic (100 messages included, ¥0.50 each beyond)
    plans = h.make_plans()
    t0 = h.now()
    h.open_billing(world.a, plans.basic, t0)
    h.save_card(world.a, world.admin_a)
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    # and 130 messages sent in its first paid month, 7 more after it, and B's 500
    h.send_messages(world.a, 130, end + timedelta(days=3))
    h.send_messages(world.a, 7, end + relativedelta(months=1) + timedelta(hours=1))
    h.send_messages(world.b, 500, end + timedelta(days=3))
    # when the month ends and the cycle runs (twice)
    at = end + relativedelta(months=1) + timedelta(hours=2)
    engine.run_cycle(now=at)
    engine.run_cycle(now=at + timedelta(minutes=10))
    # then the renewal invoice carries the 30 messages beyond the allowance: 30 × 50 fen
    usage = h.usage_rows(world.a)
    assert [(u.messages, u.overage_messages, u.overage_fen) for u in usage] == [
        (0, 0, 0),  # the trial
        (130, 30, 1500),
    ]
    assert usage[1].stripe_invoice_item_id.startswith("ii_")
    renewal = h.invoices(world.a)[-1]
    assert (renewal.billing_reason, renewal.status) == ("renewal", "paid")
    assert renewal.total_fen == 101500
    assert sorted((ln["kind"], ln["amount_fen"]) for ln in h.lines(renewal)) == [
        ("subscription", 100000),
        ("usage", 1500),
    ]
    usage_line = next(ln for ln in h.lines(renewal) if ln["kind"] == "usage")
    assert "30" in usage_line["description"]
    # and Stripe's invoice says the same
    tb = h.billing(world.a)
    stripe_inv = h.stripe_get(f"/v1/invoices/{renewal.stripe_invoice_id}")
    assert stripe_inv["amount_paid"] == 101500
    assert sorted(ln["amount"] for ln in stripe_inv["lines"]["data"]) == [1500, 100000]
    assert h.pending_items(tb.stripe_customer_id) == []
    assert h.usage_rows(world.b) == []


def test_a_card_whose_charges_fail_leaves_the_tenant_past_due(world: World) -> None:
    plans = h.make_plans()
    t0 = h.now()
    h.open_billing(world.a, plans.basic, t0)
    h.save_card(world.a, world.admin_a, h.CARD_CHARGE_FAILS)
    end = h.trial_end(world.a)
    report = engine.run_cycle(now=end + timedelta(minutes=1))
    assert report.invoices_unpaid == 1
    assert h.status(world.a) == "past_due"
    (inv,) = h.invoices(world.a)
    assert (inv.status, inv.amount_paid_fen) == ("open", 0)


def test_a_manual_suspension_is_left_to_the_operator(world: World) -> None:
    plans = h.make_plans()
    t0 = h.now()
    h.open_billing(world.a, plans.basic, t0)
    from tenants.db import platform_session

    with platform_session() as s:
        tb = engine.lock_account(s, world.a.id)
        assert tb is not None
        tb.suspension = Suspension.MANUAL
        s.add(tb)
        engine.apply_tenant_status(s, tenant_id=world.a.id, now=t0)
    assert h.status(world.a) == "suspended"
    report = engine.run_cycle(now=h.after_trial(world.a))
    assert report.periods == 0
    assert h.invoices(world.a) == []
    assert h.status(world.a) == "suspended"


def test_an_account_whose_stripe_side_failed_at_sign_up_is_retried_by_the_cycle(
    world: World, monkeypatch: object
) -> None:
    import os

    from prm_saas.settings import get_settings

    plans = h.make_plans()
    t0 = h.now()
    # given Stripe unreachable at sign-up
    saved = os.environ["PRM_STRIPE_API_BASE"]
    os.environ["PRM_STRIPE_API_BASE"] = "http://127.0.0.1:9"
    get_settings.cache_clear()
    try:
        h.open_billing(world.a, plans.basic, t0, stripe=False)
        assert engine.ensure_stripe_account(world.a.id, now=t0) is False
    finally:
        os.environ["PRM_STRIPE_API_BASE"] = saved
        get_settings.cache_clear()
    tb = h.billing(world.a)
    assert (tb.stripe_customer_id, tb.stripe_subscription_id) == ("", "")
    # when the cycle runs with Stripe back
    report = engine.run_cycle(now=t0 + timedelta(minutes=10))
    # then the customer (metadata tenant_id) and the trialing subscription exist
    assert report.retried == 1
    tb = h.billing(world.a)
    cus = h.stripe_get(f"/v1/customers/{tb.stripe_customer_id}")
    assert cus["metadata"]["tenant_id"] == str(world.a.id)
    sub = h.stripe_get(f"/v1/subscriptions/{tb.stripe_subscription_id}")
    assert sub["customer"] == tb.stripe_customer_id
    assert sub["trial_end"] == int(h.trial_end(world.a).timestamp())
    assert sub["plan"]["id"] == tb.stripe_plan_id
    # and running it again changes nothing
    assert engine.ensure_stripe_account(world.a.id) is True
    assert h.billing(world.a).stripe_customer_id == tb.stripe_customer_id


def test_with_stripe_renewals_the_cycle_only_reports_usage(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given PRM_BILLING_RENEWALS=stripe (real Stripe renews and charges by itself)
    from prm_saas.settings import get_settings

    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    h.save_card(world.a, world.admin_a)
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    h.send_messages(world.a, 104, end + timedelta(days=1))
    monkeypatch.setenv("PRM_BILLING_RENEWALS", "stripe")
    get_settings.cache_clear()
    try:
        assert get_settings().billing_renewals == "stripe"
        engine.run_cycle(now=end + relativedelta(months=1) + timedelta(minutes=1))
    finally:
        monkeypatch.delenv("PRM_BILLING_RENEWALS")
        get_settings.cache_clear()
    # then the overage waits as a pending item for Stripe's own renewal invoice, and
    # we made no invoice of our own
    tb = h.billing(world.a)
    (item,) = h.pending_items(tb.stripe_customer_id)
    assert (item["amount"], item["metadata"]["kind"]) == (4 * 50, "usage")
    assert [i.billing_reason for i in h.invoices(world.a)] == ["trial_end"]
    assert tb.current_period_start == end + relativedelta(months=1)
    assert h.status(world.a) == "active"
