"""Concurrent billing of one tenant on PostgreSQL: the account's row lock makes two
cycles (or a cycle and a plan change) run one after the other, so a period is
billed once and its usage reported once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from prm_saas.billing import engine
from tests.billing import helpers as h
from tests.concurrency import race
from tests.factories import World

pytestmark = pytest.mark.postgres_only


def test_concurrent_cycles_bill_a_period_and_its_usage_once(world: World) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    h.save_card(world.a, world.admin_a)
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    h.send_messages(world.a, 110, end + timedelta(days=2))
    at = end + relativedelta(months=1) + timedelta(minutes=1)
    outcomes = race(4, lambda _i: engine.close_period(world.a.id, now=at))
    assert outcomes == {"ok": 4}
    invs = h.invoices(world.a)
    assert [(i.billing_reason, i.total_fen) for i in invs] == [
        ("trial_end", 100000),
        ("renewal", 100000 + 10 * 50),
    ]
    assert len(h.usage_rows(world.a)) == 2
    tb = h.billing(world.a)
    assert len(h.stripe_invoices(tb.stripe_customer_id)) == 2
    assert tb.current_period_start == end + relativedelta(months=1)


def test_concurrent_stripe_account_openings_make_one_customer(world: World) -> None:
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now(), stripe=False)
    outcomes = race(4, lambda _i: engine.ensure_stripe_account(world.a.id))
    assert outcomes == {"ok": 4}
    tb = h.billing(world.a)
    found = h.stripe_get(f"/v1/customers?email={tb.billing_email}&limit=100")["data"]
    assert [c["id"] for c in found if c["metadata"].get("account") == engine.account_key(tb)] == [
        tb.stripe_customer_id
    ]
    subs = h.stripe_get(f"/v1/subscriptions?customer={tb.stripe_customer_id}")["data"]
    assert [s["id"] for s in subs] == [tb.stripe_subscription_id]
