"""Billing's Stripe webhooks at /api/webhooks/stripe against localstripe: signature,
replay, out-of-order delivery, unknown types, the tenant by its Stripe customer, and
localstripe's own signed delivery to the running app."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from prm_saas.api.app import create_api
from prm_saas.billing import engine
from prm_saas.orders.webhooks import stored_events
from prm_saas.settings import get_settings
from tests.billing import helpers as h
from tests.factories import World
from tests.oidc_provider import serve_app
from tests.orders.helpers import (
    deliver,
    event,
    sign,
    stored_event_count,
    stripe_post,
    stripe_post_config,
)


def _active(world: World) -> str:
    """A active after a paid first month; its Stripe customer."""
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    h.save_card(world.a, world.admin_a)
    engine.run_cycle(now=h.after_trial(world.a))
    assert h.status(world.a) == "active"
    return h.billing(world.a).stripe_customer_id


def _charge_fails_behind_our_back(customer: str) -> dict[str, Any]:
    """In Stripe: the card is swapped for one whose charges fail and an invoice is made
    and charged (as Stripe does on a renewal); returns the invoice."""
    tb_sub = h.stripe_get(f"/v1/subscriptions?customer={customer}")["data"][0]["id"]
    card = stripe_post(
        f"/v1/customers/{customer}/sources", {"source": h.card_token(h.CARD_CHARGE_FAILS)}
    )
    stripe_post(f"/v1/customers/{customer}", {"default_source": card["id"]})
    stripe_post("/v1/invoiceitems", {"customer": customer, "amount": "2000", "currency": "cny"})
    inv = stripe_post("/v1/invoices", {"customer": customer, "subscription": tb_sub})
    stripe_post(f"/v1/invoices/{inv['id']}/pay", {})
    return h.stripe_get(f"/v1/invoices/{inv['id']}")


def _pay_behind_our_back(customer: str, invoice_id: str) -> dict[str, Any]:
    card = stripe_post(f"/v1/customers/{customer}/sources", {"source": h.card_token(h.CARD_OK)})
    stripe_post(f"/v1/customers/{customer}", {"default_source": card["id"]})
    stripe_post(f"/v1/invoices/{invoice_id}/pay", {})
    return h.stripe_get(f"/v1/invoices/{invoice_id}")


def test_payment_failed_then_paid_moves_past_due_and_back(world: World) -> None:
    customer = _active(world)
    inv = _charge_fails_behind_our_back(customer)
    assert inv["status"] == "open"
    r = deliver(event("invoice.payment_failed", inv))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "invoice_open"
    assert h.status(world.a) == "past_due"
    mirrored = h.invoices(world.a)[-1]
    assert (mirrored.stripe_invoice_id, mirrored.status, mirrored.amount_due_fen) == (
        inv["id"],
        "open",
        102000,
    )
    paid = _pay_behind_our_back(customer, inv["id"])
    assert deliver(event("invoice.paid", paid)).json()["status"] == "invoice_paid"
    assert h.status(world.a) == "active"
    assert h.billing(world.a).past_due_since is None
    assert h.invoices(world.a)[-1].status == "paid"
    assert h.status(world.b) == "active"


def test_out_of_order_delivery_ends_in_stripes_state(world: World) -> None:
    customer = _active(world)
    failed_snapshot = _charge_fails_behind_our_back(customer)
    paid_snapshot = _pay_behind_our_back(customer, failed_snapshot["id"])
    # the success arrives first, the failure (older) after it, then the creation
    assert deliver(event("invoice.payment_succeeded", paid_snapshot)).json()["status"] == (
        "invoice_paid"
    )
    late = deliver(event("invoice.payment_failed", failed_snapshot))
    assert late.json()["status"] == "invoice_paid"  # re-read from Stripe: it is paid
    created = {**failed_snapshot, "status": "draft"}
    assert deliver(event("invoice.created", created)).json()["status"] == "invoice_paid"
    assert h.status(world.a) == "active"
    assert h.billing(world.a).past_due_since is None
    assert h.invoices(world.a)[-1].status == "paid"


def test_a_replay_changes_nothing_and_is_stored_once(world: World) -> None:
    customer = _active(world)
    inv = _charge_fails_behind_our_back(customer)
    evt = event("invoice.payment_failed", inv)
    assert deliver(evt).json()["status"] == "invoice_open"
    since = h.billing(world.a).past_due_since
    again = deliver(evt)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert stored_event_count() == 1
    assert h.billing(world.a).past_due_since == since


def test_tampered_or_stale_deliveries_are_400_and_store_nothing(world: World) -> None:
    customer = _active(world)
    inv = _charge_fails_behind_our_back(customer)
    evt = event("invoice.payment_failed", inv)
    body = json.dumps(evt).encode()
    tampered = body.replace(b'"open"', b'"paid"')
    assert tampered != body
    for kwargs in (
        {"body": tampered, "signature": sign(body)},
        {"body": body, "signature": sign(body, secret="whsec_other")},
        {"body": body, "signature": sign(body, ts=int(time.time()) - 3600)},  # stale
        {"body": body, "signature": ""},
    ):
        assert deliver(evt, **kwargs).status_code == 400  # type: ignore[arg-type]
    assert stored_event_count() == 0
    assert h.status(world.a) == "active"
    assert h.billing(world.a).past_due_since is None


def test_unknown_types_and_customers_are_stored_and_ignored(world: World) -> None:
    _active(world)
    for evt in (
        event("plan.created", {"id": "plan_x", "object": "plan"}),
        event("invoice.upcoming", {"id": "in_nope", "object": "invoice", "customer": "cus_x"}),
        event("customer.subscription.updated", {"id": "sub_nope", "object": "subscription"}),
    ):
        r = deliver(evt)
        assert (r.status_code, r.json()["status"]) == (200, "ignored"), r.text
    assert stored_event_count() == 3
    assert h.status(world.a) == "active"


def test_a_customer_whose_metadata_names_another_tenant_changes_nothing(world: World) -> None:
    customer = _active(world)
    h.open_billing(world.b, h.make_plans().basic, h.now())
    inv = _charge_fails_behind_our_back(customer)
    stripe_post(f"/v1/customers/{customer}", {"metadata[tenant_id]": str(world.b.id)})
    r = deliver(event("invoice.payment_failed", inv))
    assert r.json()["status"] == "mismatch"
    assert (h.status(world.a), h.status(world.b)) == ("active", "trial")
    assert all(i.stripe_invoice_id != inv["id"] for i in h.invoices(world.a) + h.invoices(world.b))


def test_a_subscription_event_is_re_read_and_synced(world: World) -> None:
    customer = _active(world)
    sub = h.stripe_get(f"/v1/subscriptions?customer={customer}")["data"][0]
    r = deliver(event("customer.subscription.updated", {**sub, "status": "canceled"}))
    assert r.json()["status"] == "subscription_synced"
    assert h.status(world.a) == "active"


def test_localstripe_delivers_its_own_signed_invoice_event_to_the_running_app(
    world: World,
) -> None:
    # given A past due (trial ended without a card) and the app served over HTTP,
    # registered at localstripe as its webhook endpoint
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    engine.run_cycle(now=h.after_trial(world.a))
    assert h.status(world.a) == "past_due"
    (inv,) = h.invoices(world.a)
    customer = h.billing(world.a).stripe_customer_id
    with serve_app(create_api()) as url:
        stripe_post_config(
            "/_config/webhooks/billing-tests",
            {
                "url": f"{url}/api/webhooks/stripe",
                "secret": get_settings().stripe_webhook_secret,
                "events[0]": "invoice.payment_succeeded",
            },
        )
        try:
            # when the invoice is paid in Stripe (localstripe signs and posts the event)
            _pay_behind_our_back(customer, inv.stripe_invoice_id)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and h.status(world.a) != "active":
                time.sleep(0.2)
        finally:
            stripe_post_config(
                "/_config/webhooks/billing-tests",
                {"url": "http://127.0.0.1:9/", "secret": "whsec_unused"},
            )
    # then the webhook alone made A active, and its event is stored once
    assert h.status(world.a) == "active"
    assert h.invoices(world.a)[0].status == "paid"
    ours = [
        e
        for e in stored_events()
        if (e["payload"] or {}).get("data", {}).get("object", {}).get("id") == inv.stripe_invoice_id
    ]
    assert [(e["type"], e["tenant_id"], e["processed"]) for e in ours] == [
        ("invoice.payment_succeeded", world.a.id, True)
    ]


def test_a_payment_arriving_by_webhook_lifts_a_billing_suspension(world: World) -> None:
    # given A suspended for billing (trial ended without a card, grace over)
    plans = h.make_plans()
    h.open_billing(world.a, plans.basic, h.now())
    end = h.trial_end(world.a)
    engine.run_cycle(now=end + timedelta(minutes=1))
    engine.run_cycle(now=end + timedelta(days=8))
    assert h.status(world.a) == "suspended"
    (inv,) = h.invoices(world.a)
    customer = h.billing(world.a).stripe_customer_id
    # when the invoice is paid in Stripe and its event arrives
    paid = _pay_behind_our_back(customer, inv.stripe_invoice_id)
    r = deliver(event("invoice.paid", paid))
    # then the suspension is lifted (the tenant's read-only state does not block it)
    assert (r.status_code, r.json()["status"]) == (200, "invoice_paid")
    assert h.status(world.a) == "active"
    assert h.billing(world.a).suspension == ""
