"""The billing cycle (beat's billing.cycle) against localstripe: trial ends, renewals,
usage on the invoice exactly once, payment failures, grace and suspension."""

from __future__ import annotations

from datetime import timedelta

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
