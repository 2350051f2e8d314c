"""/api/webhooks/stripe against localstripe: signatures, replay, out-of-order
delivery, late payments after the hold expired, and the tenant wall."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from prm_saas.api.app import create_api
from prm_saas.booking import services as booking_services
from prm_saas.booking.models import Booking, BookingStatus
from prm_saas.orders import services
from prm_saas.orders.models import Order, OrderStatus
from prm_saas.orders.webhooks import stored_events
from prm_saas.settings import get_settings
from tenants.db import tenant_session
from tenants.errors import DomainError
from tests.factories import World, make_patient
from tests.oidc_provider import serve_app
from tests.orders.helpers import (
    CARD_DECLINED,
    PRICE_FEN,
    booking_of,
    checkout,
    count,
    deliver,
    event,
    intent_for,
    localstripe_events,
    make_shop,
    order_of,
    pay,
    refunds_of,
    seats,
    sign,
    stored_event_count,
    stripe_get,
    stripe_post,
    stripe_post_config,
    stripe_refunds,
)


def _paid_order(world: World, **kw: object) -> tuple[int, int, str]:
    """(order id, booking id, intent id) of an order paid at Stripe, not yet synced."""
    shop = make_shop(world.a, world.admin_a, **kw)  # type: ignore[arg-type]
    res = checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    assert pay(world.a, res.order_id) == "succeeded"
    return res.order_id, res.booking_id, pi


def test_localstripes_own_succeeded_event_marks_the_order_paid(world: World) -> None:
    order_id, booking_id, pi = _paid_order(world)
    # localstripe generated payment_intent.succeeded when the card was charged
    events = [e for e in localstripe_events(pi) if e["type"] == "payment_intent.succeeded"]
    assert len(events) == 1
    r = deliver(events[0])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid"
    order = order_of(world.a, order_id)
    assert order.status == OrderStatus.PAID
    assert order.paid_fen == PRICE_FEN
    assert order.expires_at is None
    assert booking_of(world.a, booking_id).status == BookingStatus.CONFIRMED
    stored = stored_events()
    assert [(e["event_id"], e["processed"], e["tenant_id"]) for e in stored] == [
        (events[0]["id"], True, world.a.id)
    ]


def test_a_tampered_body_or_signature_is_refused_and_nothing_is_stored(world: World) -> None:
    order_id, _booking_id, pi = _paid_order(world)
    evt = event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}"))
    body = json.dumps(evt).encode()
    good = sign(body)
    tampered = body.replace(str(PRICE_FEN).encode(), b"1")
    assert tampered != body
    for kwargs in (
        {"body": tampered, "signature": good},
        {"body": body, "signature": sign(body, secret="whsec_wrong")},
        {"body": body, "signature": ""},
        {"body": body, "signature": "t=1,v1=deadbeef"},
        {"body": body, "signature": sign(body, ts=1_000_000)},  # far outside the tolerance
    ):
        r = deliver(evt, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 400, kwargs
    assert stored_event_count() == 0
    assert order_of(world.a, order_id).status == OrderStatus.PENDING_PAYMENT
    # the genuine delivery still works afterwards
    assert deliver(evt, body=body, signature=good).status_code == 200
    assert order_of(world.a, order_id).status == OrderStatus.PAID


def test_a_replayed_event_is_applied_once(world: World) -> None:
    order_id, _b, pi = _paid_order(world)
    evt = event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}"))
    first = deliver(evt)
    again = deliver(evt)
    assert first.json()["status"] == "paid"
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert stored_event_count() == 1
    assert order_of(world.a, order_id).paid_fen == PRICE_FEN


def test_concurrent_duplicate_deliveries_apply_once(world: World) -> None:
    order_id, _b, pi = _paid_order(world)
    evt = event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}"))
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        r = deliver(evt)
        outcomes.append(f"{r.status_code}:{r.json().get('status')}")

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["200:duplicate"] * 3 + ["200:paid"]
    assert stored_event_count() == 1
    assert order_of(world.a, order_id).status == OrderStatus.PAID


def test_late_processing_and_failed_events_never_undo_paid(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    created = stripe_get(f"/v1/payment_intents/{pi}")  # snapshot before paying
    assert pay(world.a, res.order_id) == "succeeded"
    succeeded = stripe_get(f"/v1/payment_intents/{pi}")
    # succeeded arrives first, then older snapshots: created, processing, failed
    assert deliver(event("payment_intent.succeeded", succeeded)).json()["status"] == "paid"
    for etype in (
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
    ):
        r = deliver(event(etype, {**created, "status": "requires_payment_method"}))
        assert r.status_code == 200
        assert r.json()["status"] == "already_paid"
    order = order_of(world.a, res.order_id)
    assert order.status == OrderStatus.PAID
    assert order.paid_fen == PRICE_FEN
    assert booking_of(world.a, res.booking_id).status == BookingStatus.CONFIRMED


def test_a_declined_card_leaves_the_order_payable(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    with pytest.raises(DomainError) as err:
        pay(world.a, res.order_id, CARD_DECLINED)
    assert err.value.key == "orders.card_declined"
    failed = [e for e in localstripe_events(pi) if e["type"] == "payment_intent.payment_failed"]
    assert len(failed) == 1
    assert deliver(failed[0]).json()["status"] == "requires_payment_method"
    order = order_of(world.a, res.order_id)
    assert (order.status, order.paid_fen) == (OrderStatus.PENDING_PAYMENT, 0)
    assert booking_of(world.a, res.booking_id).status == BookingStatus.HELD


def test_a_refund_event_before_the_success_event_ends_consistent(world: World) -> None:
    order_id, _b, pi = _paid_order(world)
    succeeded = stripe_get(f"/v1/payment_intents/{pi}")
    # a refund made in Stripe's dashboard; its charge.refunded arrives first
    stripe_post("/v1/refunds", {"payment_intent": pi, "amount": "12000"})
    charge = stripe_get(f"/v1/charges/{succeeded['latest_charge']['id']}")
    r = deliver(event("charge.refunded", charge))
    assert r.status_code == 200, r.text
    order = order_of(world.a, order_id)
    assert (order.status, order.paid_fen, order.refunded_fen) == (
        OrderStatus.PARTIALLY_REFUNDED,
        PRICE_FEN,
        12000,
    )
    # then the payment's own success event, late: nothing changes
    assert deliver(event("payment_intent.succeeded", succeeded)).json()["status"] == "already_paid"
    # and the refund's event again (another id): still one refund row
    refund_obj = stripe_refunds(pi)[0]
    assert deliver(event("charge.refund.updated", refund_obj)).status_code == 200
    order = order_of(world.a, order_id)
    assert (order.status, order.refunded_fen) == (OrderStatus.PARTIALLY_REFUNDED, 12000)
    assert len(refunds_of(world.a, order_id)) == 1


def test_expiry_releases_the_seat_and_cancels_the_intent(world: World) -> None:
    shop = make_shop(world.a, world.admin_a, capacity=1)
    res = checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    later = shop.now + timedelta(minutes=16)
    with tenant_session(world.a.id) as s:
        assert services.expire_unpaid(session=s, now=later) == 1
    assert order_of(world.a, res.order_id).status == OrderStatus.EXPIRED
    assert booking_of(world.a, res.booking_id).status == BookingStatus.EXPIRED
    assert seats(world.a, shop.slot_id) == 0
    assert stripe_get(f"/v1/payment_intents/{pi}")["status"] == "canceled"
    # a second round finds nothing to do
    with tenant_session(world.a.id) as s:
        assert services.expire_unpaid(session=s, now=later) == 0


def test_expiry_of_an_order_already_paid_at_stripe_marks_it_paid(world: World) -> None:
    order_id, booking_id, _pi = _paid_order(world)
    later = order_of(world.a, order_id).created_at + timedelta(minutes=16)
    with tenant_session(world.a.id) as s:
        assert services.expire_unpaid(session=s, now=later) == 0
    assert order_of(world.a, order_id).status == OrderStatus.PAID
    assert booking_of(world.a, booking_id).status == BookingStatus.CONFIRMED


def _expire_behind_stripes_back(world: World, order_id: int, booking_id: int) -> None:
    """The state the race leaves: the beat expired the order (its view of Stripe was
    a moment old) while the card was being charged."""
    with tenant_session(world.a.id) as s:
        order = s.exec(select(Order).where(Order.id == order_id)).one()
        order.status = OrderStatus.EXPIRED
        s.add(order)
        booking_services.release(
            session=s,
            booking_id=booking_id,
            now=order.created_at + timedelta(minutes=16),
            status=BookingStatus.EXPIRED,
        )


def test_payment_after_the_hold_expired_re_seats_when_a_seat_is_free(world: World) -> None:
    order_id, booking_id, pi = _paid_order(world, capacity=2)
    _expire_behind_stripes_back(world, order_id, booking_id)
    r = deliver(event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}")))
    assert r.json()["status"] == "paid_reseated"
    order = order_of(world.a, order_id)
    assert order.status == OrderStatus.PAID
    assert order.booking_id != booking_id
    assert order.booking_id is not None
    assert booking_of(world.a, order.booking_id).status == BookingStatus.CONFIRMED
    assert booking_of(world.a, booking_id).status == BookingStatus.EXPIRED
    assert stripe_refunds(pi) == []


def test_payment_after_the_hold_expired_is_refunded_when_the_seat_is_gone(world: World) -> None:
    order_id, booking_id, pi = _paid_order(world, capacity=1)
    _expire_behind_stripes_back(world, order_id, booking_id)
    # someone else took the only seat
    other = make_patient(world.a)
    slot_id = booking_of(world.a, booking_id).slot_id
    with tenant_session(world.a.id) as s:
        b = s.exec(select(Booking).where(Booking.id == booking_id)).one()
        taken = services.checkout(
            session=s,
            actor=other,
            package_id=b.package_id,
            location_id=b.location_id,
            slot_id=slot_id,
            addon_item_ids=[],
            payment_method="clinic",
            idempotency_key="seat-taker",
            now=b.created_at,
        )
    assert seats(world.a, slot_id) == 1
    r = deliver(event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}")))
    assert r.json()["status"] == "paid_late_refunded"
    order = order_of(world.a, order_id)
    assert (order.status, order.paid_fen, order.refunded_fen) == (
        OrderStatus.REFUNDED,
        PRICE_FEN,
        PRICE_FEN,
    )
    assert [x["amount"] for x in stripe_refunds(pi)] == [PRICE_FEN]
    assert seats(world.a, slot_id) == 1
    assert order_of(world.a, taken.order_id).status == OrderStatus.PENDING_PAYMENT
    # replaying the success (a new event id) refunds nothing more
    again = deliver(event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}")))
    assert again.json()["status"] == "already_paid"
    assert len(stripe_refunds(pi)) == 1


def test_metadata_naming_another_tenant_changes_nothing(world: World) -> None:
    order_id, _b, pi = _paid_order(world)
    make_shop(world.b, world.admin_b)
    obj = stripe_get(f"/v1/payment_intents/{pi}")
    forged = {**obj, "metadata": {**obj["metadata"], "tenant_id": str(world.b.id)}}
    r = deliver(event("payment_intent.succeeded", forged))
    assert r.status_code == 200
    assert r.json()["status"] == "unknown"
    assert order_of(world.a, order_id).status == OrderStatus.PENDING_PAYMENT
    assert count(world.b, Order) == 0


def test_events_we_do_not_handle_are_stored_and_ignored(world: World) -> None:
    r = deliver(event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert r.status_code == 200
    assert r.json()["status"] == "ignored"
    assert stored_event_count() == 1


def test_an_event_naming_an_unknown_payment_intent_is_ignored(world: World) -> None:
    make_shop(world.a, world.admin_a)
    obj = {
        "id": "pi_doesnotexist",
        "object": "payment_intent",
        "status": "succeeded",
        "amount": 1,
        "metadata": {"tenant_id": str(world.a.id), "order_id": "1"},
    }
    r = deliver(event("payment_intent.succeeded", obj))
    assert r.status_code == 200
    assert r.json()["status"] == "unknown"


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"id": "evt_1", "type": "x"}'])
def test_signed_garbage_is_a_400(world: World, body: bytes) -> None:
    r = deliver({}, body=body)
    assert r.status_code == 400
    assert stored_event_count() == 0


def test_localstripe_delivers_its_own_signed_webhook_to_the_running_app(world: World) -> None:
    # given the app served over HTTP, registered at localstripe as its webhook endpoint
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    # one registration per test process: the SQLite and PostgreSQL passes share a localstripe
    hook = f"/_config/webhooks/orders-tests-{os.getpid()}"
    with serve_app(create_api()) as url:
        stripe_post_config(
            hook,
            {"url": f"{url}/api/webhooks/stripe", "secret": get_settings().stripe_webhook_secret},
        )
        try:
            # when the card is charged (localstripe then signs and posts its event itself)
            assert pay(world.a, res.order_id) == "succeeded"
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if order_of(world.a, res.order_id).status == OrderStatus.PAID:
                    break
                time.sleep(0.2)
        finally:
            # point the (shared) registration at nothing that answers
            stripe_post_config(
                hook,
                {"url": "http://127.0.0.1:9/", "secret": "whsec_unused"},
            )
    # then the order was paid by the webhook alone, and its event is stored once (a
    # localstripe shared by the whole run may also retry earlier tests' events here:
    # they name intents this test does not have and change nothing)
    assert order_of(world.a, res.order_id).status == OrderStatus.PAID
    ours = [
        e
        for e in stored_events()
        if (e["payload"] or {}).get("data", {}).get("object", {}).get("id") == pi
    ]
    assert [e["type"] for e in ours] == ["payment_intent.succeeded"]


def test_a_suspended_tenant_gets_a_503_and_the_event_is_applied_on_retry(world: World) -> None:
    from tenants.models import TenantStatus
    from tests.factories import change_status

    order_id, _b, pi = _paid_order(world)
    evt = event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}"))
    change_status(world.a, TenantStatus.SUSPENDED)
    r = deliver(evt)
    assert r.status_code == 503
    assert order_of(world.a, order_id).status == OrderStatus.PENDING_PAYMENT
    assert [e["processed"] for e in stored_events()] == [False]
    # Stripe retries the same event once the tenant is back
    change_status(world.a, TenantStatus.ACTIVE)
    assert deliver(evt).json()["status"] == "paid"
    assert [e["processed"] for e in stored_events()] == [True]


def test_a_payment_landing_after_the_patient_cancelled_is_refunded(world: World) -> None:
    from prm_saas.booking.models import BookingSettings, Slot

    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    with tenant_session(world.a.id) as s:
        s.add(BookingSettings(cancel_cutoff_hours=1))
    # the card is charged at Stripe while the patient cancels the unpaid order
    assert pay(world.a, res.order_id) == "succeeded"
    with tenant_session(world.a.id) as s:
        slot = s.exec(select(Slot).where(Slot.id == shop.slot_id)).one()
        out = services.cancel_order_by_patient(
            session=s,
            actor=world.patient_a,
            order_id=res.order_id,
            now=slot.starts_at - timedelta(hours=10),
        )
    assert out.status == "cancelled"
    # the success event then arrives: the money goes back, the seat stays free
    r = deliver(event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}")))
    assert r.json()["status"] == "paid_late_refunded"
    order = order_of(world.a, res.order_id)
    assert (order.status, order.paid_fen, order.refunded_fen) == (
        OrderStatus.REFUNDED,
        PRICE_FEN,
        PRICE_FEN,
    )
    assert [x["amount"] for x in stripe_refunds(pi)] == [PRICE_FEN]
    assert booking_of(world.a, res.booking_id).status == BookingStatus.CANCELLED
    assert seats(world.a, shop.slot_id) == 0
