"""Checkout: seat + order in one transaction, idempotent per patient and key; the
PaymentIntent made once per order; patient and admin queries; wrong tenant."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from prm_saas.booking.models import Booking, BookingSettings, BookingStatus
from prm_saas.orders import services
from prm_saas.orders.models import Order, OrderLine, OrderStatus, Payment
from tenants.db import tenant_session
from tenants.errors import DomainError, NotFound, PermissionDenied
from tests.factories import World, make_patient
from tests.orders.helpers import (
    PRICE_FEN,
    booking_of,
    checkout,
    count,
    intent_for,
    make_shop,
    order_of,
    payments_of,
    seats,
    stripe_get,
)


def test_online_checkout_holds_the_seat_and_opens_a_pending_order(world: World) -> None:
    # given a shop in tenant A
    shop = make_shop(world.a, world.admin_a)
    # when the patient checks out to pay online
    res = checkout(shop, world.patient_a)
    # then the seat is held for the hold window and the order waits for payment
    order = order_of(world.a, res.order_id)
    booking = booking_of(world.a, res.booking_id)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.total_fen == PRICE_FEN
    assert order.booking_id == booking.id
    assert re.fullmatch(r"\d{8}-\d{6}", order.number)
    assert booking.status == BookingStatus.HELD
    assert order.expires_at == shop.now + timedelta(minutes=15)
    assert booking.hold_expires_at == order.expires_at
    assert seats(world.a, shop.slot_id) == 1
    assert "/api/pay/" in res.pay_url
    with tenant_session(world.a.id) as s:
        lines = s.exec(select(OrderLine).where(OrderLine.order_id == res.order_id)).all()
    assert [(ln.kind, ln.amount_fen) for ln in lines] == [("package", PRICE_FEN)]


def test_the_same_key_twice_makes_one_order_one_booking_one_payment_intent(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    first = checkout(shop, world.patient_a, key="double-submit")
    second = checkout(shop, world.patient_a, key="double-submit")
    assert (second.order_id, second.booking_id) == (first.order_id, first.booking_id)
    assert count(world.a, Order) == 1
    assert count(world.a, Booking) == 1
    assert seats(world.a, shop.slot_id) == 1
    # the PaymentIntent is made once per order, however often the pay page asks
    pi1 = intent_for(world.a, first.order_id)
    pi2 = intent_for(world.a, first.order_id)
    assert pi1 == pi2
    assert len(payments_of(world.a, first.order_id)) == 1
    pi = stripe_get(f"/v1/payment_intents/{pi1}")
    assert pi["amount"] == PRICE_FEN
    assert pi["currency"] == "cny"
    assert pi["metadata"] == {
        "tenant_id": str(world.a.id),
        "order_id": str(first.order_id),
        "order_number": order_of(world.a, first.order_id).number,
    }


def test_keys_are_per_patient(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    other = make_patient(world.a)
    a = checkout(shop, world.patient_a, key="same")
    b = checkout(shop, other, key="same")
    assert a.order_id != b.order_id
    assert order_of(world.a, b.order_id).patient_id == other.id
    nums = {order_of(world.a, a.order_id).number, order_of(world.a, b.order_id).number}
    assert len(nums) == 2


def test_pay_at_the_clinic_confirms_at_once_and_never_expires(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a, method="clinic")
    order = order_of(world.a, res.order_id)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.expires_at is None
    assert res.pay_url == ""
    assert booking_of(world.a, res.booking_id).status == BookingStatus.CONFIRMED


def test_pay_at_the_clinic_refused_when_the_tenant_does_not_allow_it(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    with tenant_session(world.a.id) as s:
        s.add(BookingSettings(allow_pay_at_clinic=False))
    with pytest.raises(DomainError) as err:
        checkout(shop, world.patient_a, method="clinic")
    assert err.value.key == "orders.clinic_not_allowed"
    assert count(world.a, Order) == 0
    assert count(world.a, Booking) == 0
    assert seats(world.a, shop.slot_id) == 0


def test_a_full_slot_writes_nothing(world: World) -> None:
    shop = make_shop(world.a, world.admin_a, capacity=1)
    checkout(shop, world.patient_a)
    late = make_patient(world.a)
    with pytest.raises(DomainError) as err:
        checkout(shop, late, key="k2")
    assert err.value.key == "booking.slot_full"
    assert count(world.a, Order) == 1
    assert count(world.a, Booking) == 1


def test_bad_method_and_bad_key_are_refused(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    with pytest.raises(DomainError) as err:
        checkout(shop, world.patient_a, method="bitcoin")
    assert err.value.key == "orders.method_invalid"
    with pytest.raises(DomainError) as err:
        checkout(shop, world.patient_a, key="x" * 65)
    assert err.value.key == "orders.idempotency_key_invalid"
    assert count(world.a, Order) == 0


def test_staff_cannot_check_out_as_a_patient(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    with pytest.raises(PermissionDenied):
        checkout(shop, world.staff_a)


def test_wrong_tenant_checkout_and_lookups(world: World) -> None:
    shop_a = make_shop(world.a, world.admin_a)
    make_shop(world.b, world.admin_b)
    # a patient of B acting in A's session is unknown there
    with pytest.raises(NotFound):
        checkout(shop_a, world.patient_b)
    res = checkout(shop_a, world.patient_a)
    # A's order id, looked up in B (patient and admin) is not found
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.order_detail(session=s, actor=world.patient_b, order_id=res.order_id)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.admin_order_detail(session=s, actor=world.admin_b, order_id=res.order_id)
    with tenant_session(world.b.id) as s, pytest.raises(NotFound):
        services.create_payment_intent(session=s, order_id=res.order_id, now=shop_a.now)
    with tenant_session(world.b.id) as s:
        assert services.list_orders(session=s, actor=world.admin_b) == []
    assert count(world.b, Order) == 0


def test_patients_see_only_their_own_orders(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    mine = checkout(shop, world.patient_a)
    other = make_patient(world.a)
    theirs = checkout(shop, other, key="theirs")
    with tenant_session(world.a.id) as s:
        listed = services.my_orders(session=s, actor=world.patient_a)
        assert [o.id for o in listed] == [mine.order_id]
        detail = services.order_detail(session=s, actor=world.patient_a, order_id=mine.order_id)
        assert detail.order.total_fen == PRICE_FEN
        assert detail.lines[0].kind == "package"
        with pytest.raises(NotFound):
            services.order_detail(session=s, actor=world.patient_a, order_id=theirs.order_id)


def test_admin_list_filters_by_status_and_searches_number_and_phone(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    number = order_of(world.a, res.order_id).number
    with tenant_session(world.a.id) as s:
        assert len(services.list_orders(session=s, actor=world.admin_a)) == 1
        assert services.list_orders(session=s, actor=world.admin_a, status="paid") == []
        got = services.list_orders(session=s, actor=world.admin_a, status="pending_payment")
        assert [o.id for o in got] == [res.order_id]
        assert len(services.list_orders(session=s, actor=world.admin_a, query=number)) == 1
        assert len(services.list_orders(session=s, actor=world.admin_a, query="13800000001")) == 1
        assert services.list_orders(session=s, actor=world.admin_a, query="99999999") == []
        with pytest.raises(DomainError):
            services.list_orders(session=s, actor=world.admin_a, status="bogus")
        with pytest.raises(PermissionDenied):
            services.list_orders(session=s, actor=world.staff_a)
        with pytest.raises(PermissionDenied):
            services.list_orders(session=s, actor=world.patient_a)


def test_money_in_yuan_becomes_exact_fen() -> None:
    assert services.parse_yuan("0.29") == 29
    assert services.parse_yuan("123.45") == 12345
    assert services.parse_yuan("¥1,200") == 120000
    assert services.parse_yuan(" 80 ") == 8000
    for bad in ("", "abc", "-1", "0", "1.234", "NaN", "1e3000"):
        with pytest.raises(DomainError):
            services.parse_yuan(bad)
    assert services.yuan(12345) == "123.45"
    assert services.yuan(5) == "0.05"


@pytest.mark.postgres_only
def test_concurrent_double_submit_makes_one_order_and_one_booking(world: World) -> None:
    shop = make_shop(world.a, world.admin_a, capacity=5)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def submit() -> None:
        barrier.wait()
        try:
            results.append(checkout(shop, world.patient_a, key="race").order_id)
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert count(world.a, Order) == 1
    assert count(world.a, Booking) == 1
    assert seats(world.a, shop.slot_id) == 1


@pytest.mark.postgres_only
def test_concurrent_pay_pages_make_one_payment_intent(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    ids: list[object] = []
    barrier = threading.Barrier(6)

    def load() -> None:
        barrier.wait()
        try:
            ids.append(intent_for(world.a, res.order_id))
        except Exception as exc:
            ids.append(exc)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1, ids
    with tenant_session(world.a.id) as s:
        assert len(s.exec(select(Payment)).all()) == 1


def test_the_admin_detail_needs_orders_manage(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    with tenant_session(world.a.id) as s:
        d = services.admin_order_detail(session=s, actor=world.admin_a, order_id=res.order_id)
        assert d.order.patient_phone == "+8613800000001"
        assert d.refundable_fen == 0
        for actor in (world.staff_a, world.patient_a):
            with pytest.raises(PermissionDenied):
                services.admin_order_detail(session=s, actor=actor, order_id=res.order_id)


@pytest.mark.postgres_only
def test_concurrent_checkouts_of_different_patients_get_distinct_numbers(world: World) -> None:
    shop = make_shop(world.a, world.admin_a, capacity=10)
    patients = [make_patient(world.a) for _ in range(6)]
    results: list[object] = []
    barrier = threading.Barrier(len(patients))

    def submit(p: object) -> None:
        barrier.wait()
        try:
            results.append(checkout(shop, p, key="mine").order_id)  # type: ignore[arg-type]
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=submit, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, int) for r in results), results
    numbers = {order_of(world.a, int(r)).number for r in results}  # type: ignore[call-overload]
    assert len(numbers) == len(patients)
    assert seats(world.a, shop.slot_id) == len(patients)


def test_open_order_for_booking_is_one_order_per_booking(world: World) -> None:
    # the waitlist's path: a held booking gets its order from orders
    from prm_saas.booking import services as booking_services
    from prm_saas.mall.pricing import package_for_booking

    shop = make_shop(world.a, world.admin_a)
    until = shop.now + timedelta(minutes=30)
    with tenant_session(world.a.id) as s:
        b = booking_services.reserve(
            session=s,
            patient_id=world.patient_a.id,
            package_id=shop.package_id,
            location_id=shop.location_id,
            slot_id=shop.slot_id,
            addon_item_ids=[],
            idempotency_key="offer",
            hold_until=until,
            now=shop.now,
        )
        priced = package_for_booking(
            session=s, package_id=shop.package_id, location_id=shop.location_id, addon_item_ids=[]
        )
        first = services.open_order_for_booking(
            session=s, booking=b, priced=priced, method="stripe", expires_at=until
        )
        again = services.open_order_for_booking(
            session=s, booking=b, priced=priced, method="stripe", expires_at=until
        )
        assert first.id == again.id
        assert (first.total_fen, first.expires_at, first.booking_id) == (PRICE_FEN, until, b.id)
    assert count(world.a, Order) == 1
