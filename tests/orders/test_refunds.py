"""Refunds (staff, full and partial, once per key, never more than paid), clinic
payments, and the patient's cancel with the policy's refund share."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prm_saas.booking.models import BookingSettings, BookingStatus
from prm_saas.orders import services
from prm_saas.orders.models import OrderStatus, Refund
from tenants.db import tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tests.factories import World
from tests.orders.helpers import (
    PRICE_FEN,
    Shop,
    booking_of,
    checkout,
    count,
    deliver,
    event,
    intent_for,
    make_shop,
    order_of,
    pay,
    refunds_of,
    seats,
    stripe_get,
    stripe_refunds,
)


def _paid(world: World) -> tuple[Shop, int, str]:
    """A shop and an order of patient A paid through Stripe and synced by the webhook."""
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    assert pay(world.a, res.order_id) == "succeeded"
    r = deliver(event("payment_intent.succeeded", stripe_get(f"/v1/payment_intents/{pi}")))
    assert r.json()["status"] == "paid"
    return shop, res.order_id, pi


def _refund(world: World, order_id: int, amount: int, key: str, actor: object = None) -> object:
    with tenant_session(world.a.id) as s:
        return services.refund(
            session=s,
            actor=actor or world.admin_a,  # type: ignore[arg-type]
            order_id=order_id,
            amount_fen=amount,
            reason="客户要求",
            idempotency_key=key,
            now=order_of(world.a, order_id).created_at,
        )


def test_a_full_refund_goes_through_stripe(world: World) -> None:
    _shop, order_id, pi = _paid(world)
    row = _refund(world, order_id, PRICE_FEN, "r1")
    order = order_of(world.a, order_id)
    assert (order.status, order.refunded_fen) == (OrderStatus.REFUNDED, PRICE_FEN)
    assert [(r["id"], r["amount"]) for r in stripe_refunds(pi)] == [
        (row.provider_ref, PRICE_FEN)  # type: ignore[attr-defined]
    ]


def test_partial_refunds_add_up_and_a_repeated_key_refunds_once(world: World) -> None:
    _shop, order_id, pi = _paid(world)
    first = _refund(world, order_id, 10000, "r1")
    again = _refund(world, order_id, 10000, "r1")
    assert again == first
    _refund(world, order_id, 5000, "r2")
    order = order_of(world.a, order_id)
    assert (order.status, order.refunded_fen) == (OrderStatus.PARTIALLY_REFUNDED, 15000)
    assert sorted(r["amount"] for r in stripe_refunds(pi)) == [5000, 10000]
    assert len(refunds_of(world.a, order_id)) == 2
    # a webhook about the refunds afterwards finds them all already recorded
    charge = stripe_get(f"/v1/payment_intents/{pi}")["latest_charge"]
    assert deliver(event("charge.refunded", charge)).status_code == 200
    assert order_of(world.a, order_id).refunded_fen == 15000
    assert len(refunds_of(world.a, order_id)) == 2


def test_refunding_more_than_was_paid_is_refused_and_writes_nothing(world: World) -> None:
    _shop, order_id, pi = _paid(world)
    _refund(world, order_id, 30000, "r1")
    with pytest.raises(FieldErrors) as err:
        _refund(world, order_id, 20001, "r2")
    assert err.value.errors["amount"][0] == "orders.refund_too_much"
    assert err.value.errors["amount"][1] == {"max": "200.00"}
    assert len(stripe_refunds(pi)) == 1
    assert order_of(world.a, order_id).refunded_fen == 30000
    # exactly the rest is fine
    _refund(world, order_id, 20000, "r3")
    assert order_of(world.a, order_id).status == OrderStatus.REFUNDED
    with pytest.raises(DomainError) as nothing_left:
        _refund(world, order_id, 1, "r4")
    assert nothing_left.value.key == "orders.not_refundable"


@pytest.mark.parametrize("amount", [0, -100, True])
def test_bad_amounts_are_refused(world: World, amount: int) -> None:
    _shop, order_id, pi = _paid(world)
    with pytest.raises(FieldErrors):
        _refund(world, order_id, amount, "bad")
    assert stripe_refunds(pi) == []


def test_an_unpaid_order_cannot_be_refunded(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    with pytest.raises(DomainError) as err:
        _refund(world, res.order_id, 100, "r1")
    assert err.value.key == "orders.not_refundable"
    assert count(world.a, Refund) == 0


def test_refunds_need_orders_manage_in_the_same_tenant(world: World) -> None:
    _shop, order_id, pi = _paid(world)
    for actor in (world.staff_a, world.patient_a):
        with pytest.raises(PermissionDenied):
            _refund(world, order_id, 100, "x", actor)
    with pytest.raises(NotFound):
        _refund(world, order_id, 100, "x", world.admin_b)
    # B's admin in B's own session cannot reach A's order either
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.refund(
            session=s,
            actor=world.admin_b,
            order_id=order_id,
            amount_fen=100,
            reason="",
            idempotency_key="x",
            now=order_of(world.a, order_id).created_at,
        )
    assert stripe_refunds(pi) == []
    assert order_of(world.a, order_id).refunded_fen == 0


def test_clinic_payment_is_recorded_and_its_refund_is_recorded_only(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a, method="clinic")
    with tenant_session(world.a.id) as s, pytest.raises(PermissionDenied):
        services.mark_clinic_paid(
            session=s, actor=world.staff_a, order_id=res.order_id, now=shop.now
        )
    with tenant_session(world.a.id) as s:
        services.mark_clinic_paid(
            session=s, actor=world.admin_a, order_id=res.order_id, now=shop.now
        )
    with tenant_session(world.a.id) as s:  # twice is harmless
        services.mark_clinic_paid(
            session=s, actor=world.admin_a, order_id=res.order_id, now=shop.now
        )
    order = order_of(world.a, res.order_id)
    assert (order.status, order.paid_fen) == (OrderStatus.PAID, PRICE_FEN)
    row = _refund(world, res.order_id, 20000, "cash-back")
    assert row.provider_ref == ""  # type: ignore[attr-defined]
    assert order_of(world.a, res.order_id).status == OrderStatus.PARTIALLY_REFUNDED


def _cancel(world: World, shop: Shop, order_id: int, hours_before: float) -> object:
    booking_id = order_of(world.a, order_id).booking_id
    assert booking_id is not None
    with tenant_session(world.a.id) as s:
        from prm_saas.booking.models import Slot

        slot = s.get(Slot, shop.slot_id)
        assert slot is not None
        now = slot.starts_at - timedelta(hours=hours_before)
        return services.cancel_order_by_patient(
            session=s, actor=world.patient_a, booking_id=booking_id, now=now
        )


def test_patient_cancel_early_refunds_everything(world: World) -> None:
    shop, order_id, pi = _paid(world)
    with tenant_session(world.a.id) as s:
        s.add(BookingSettings(cancel_cutoff_hours=1, full_refund_hours=20, late_refund_percent=50))
    out = _cancel(world, shop, order_id, hours_before=30)
    assert out.refund_percent == 100  # type: ignore[attr-defined]
    order = order_of(world.a, order_id)
    assert (order.status, order.refunded_fen) == (OrderStatus.REFUNDED, PRICE_FEN)
    assert [r["amount"] for r in stripe_refunds(pi)] == [PRICE_FEN]
    assert seats(world.a, shop.slot_id) == 0


def test_patient_cancel_late_refunds_the_policy_share(world: World) -> None:
    shop, order_id, pi = _paid(world)
    with tenant_session(world.a.id) as s:
        s.add(BookingSettings(cancel_cutoff_hours=1, full_refund_hours=20, late_refund_percent=30))
    _cancel(world, shop, order_id, hours_before=5)
    order = order_of(world.a, order_id)
    assert (order.status, order.refunded_fen) == (OrderStatus.PARTIALLY_REFUNDED, 15000)
    assert [r["amount"] for r in stripe_refunds(pi)] == [15000]
    assert booking_of(world.a, order.booking_id or 0).status == BookingStatus.CANCELLED


def test_patient_cancel_of_an_unpaid_order_cancels_it_and_its_intent(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    pi = intent_for(world.a, res.order_id)
    with tenant_session(world.a.id) as s:
        s.add(BookingSettings(cancel_cutoff_hours=1))
    _cancel(world, shop, res.order_id, hours_before=10)
    assert order_of(world.a, res.order_id).status == OrderStatus.CANCELLED
    assert stripe_get(f"/v1/payment_intents/{pi}")["status"] == "canceled"
    assert seats(world.a, shop.slot_id) == 0


def test_patient_cancel_inside_the_cutoff_changes_nothing(world: World) -> None:
    shop, order_id, pi = _paid(world)
    with tenant_session(world.a.id) as s:
        s.add(BookingSettings(cancel_cutoff_hours=24))
    with pytest.raises(DomainError) as err:
        _cancel(world, shop, order_id, hours_before=2)
    assert err.value.key == "booking.cancel_too_late"
    assert order_of(world.a, order_id).status == OrderStatus.PAID
    assert stripe_refunds(pi) == []


def test_a_patient_cannot_cancel_anothers_order(world: World) -> None:
    from tests.factories import make_patient

    shop = make_shop(world.a, world.admin_a)
    other = make_patient(world.a)
    res = checkout(shop, other, key="theirs")
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        services.cancel_order_by_patient(
            session=s, actor=world.patient_a, order_id=res.order_id, now=shop.now
        )
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.cancel_order_by_patient(
            session=s, actor=world.patient_b, order_id=res.order_id, now=shop.now
        )
    assert order_of(world.a, res.order_id).status == OrderStatus.PENDING_PAYMENT


def test_cancelling_a_booking_that_has_no_order_cancels_the_booking(world: World) -> None:
    from prm_saas.booking import services as booking_services

    shop = make_shop(world.a, world.admin_a)
    with tenant_session(world.a.id) as s:
        s.add(BookingSettings(cancel_cutoff_hours=1))
        b = booking_services.reserve(
            session=s,
            patient_id=world.patient_a.id,
            package_id=shop.package_id,
            location_id=shop.location_id,
            slot_id=shop.slot_id,
            addon_item_ids=[],
            idempotency_key="no-order",
            hold_until=None,
            now=shop.now,
        )
        bid = int(b.id or 0)
    with tenant_session(world.a.id) as s:
        out = services.cancel_order_by_patient(
            session=s, actor=world.patient_a, booking_id=bid, now=shop.now
        )
    assert (out.order_id, out.refunded_fen) == (0, 0)
    assert booking_of(world.a, bid).status == BookingStatus.CANCELLED
    assert seats(world.a, shop.slot_id) == 0
