"""The hosted pay page /api/pay/<token> with localstripe: the page, the card
confirmation with 4242 4242 4242 4242, the return that syncs without a webhook."""

from __future__ import annotations

import re
import urllib.request
from datetime import timedelta

from prm_saas.booking.models import BookingStatus
from prm_saas.orders import services
from prm_saas.orders.models import OrderStatus
from prm_saas.settings import get_settings
from tests.booking.builders import set_patient
from tests.factories import World
from tests.orders.helpers import (
    CARD_DECLINED,
    booking_of,
    card_token,
    checkout,
    http,
    make_shop,
    order_of,
    payments_of,
    stripe_get,
)


def _path(url: str) -> str:
    return url[url.index("/api/pay/") :]


def test_the_pay_page_shows_the_order_and_loads_stripe_js(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    r = http("GET", _path(res.pay_url))
    assert r.status_code == 200
    page = r.text
    for element in ('id="card-element"', 'id="pay-button"', 'id="pay-error"'):
        assert element.replace('"', "'") in page
    assert "¥500.00" in page
    assert order_of(world.a, res.order_id).number in page
    js_url = get_settings().stripe_js_url
    assert f"<script src='{js_url}'>" in page
    assert "script-src 'nonce-" in r.headers["content-security-policy"]
    # the PaymentIntent now exists, and its client secret is in the page
    (payment,) = payments_of(world.a, res.order_id)
    assert f"{payment.provider_ref}_secret_" in page
    # the fake Stripe.js is served where the page loads it from
    with urllib.request.urlopen(js_url, timeout=5) as js:  # noqa: S310
        assert b"confirmCardPayment" in js.read()
    # a reload does not make a second PaymentIntent
    assert http("GET", _path(res.pay_url)).status_code == 200
    assert len(payments_of(world.a, res.order_id)) == 1


def test_the_page_speaks_the_patients_language(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    assert "订单支付" in http("GET", _path(res.pay_url)).text
    set_patient(world.a, world.patient_a.id, locale="en")
    assert "Pay for your order" in http("GET", _path(res.pay_url)).text


def test_paying_with_4242_confirms_and_the_return_syncs_without_a_webhook(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    path = _path(res.pay_url)
    assert http("GET", path).status_code == 200
    # what the page's script does with localstripe: a token from Stripe.js, then confirm
    r = http("POST", f"{path}/confirm", json={"token": card_token()})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "succeeded"}
    (payment,) = payments_of(world.a, res.order_id)
    assert stripe_get(f"/v1/payment_intents/{payment.provider_ref}")["status"] == "succeeded"
    # no webhook has arrived; the return syncs from Stripe and goes to the booking page
    back = http("GET", f"{path}/return")
    assert back.status_code == 303
    assert back.headers["location"].endswith(f"/t/{world.a.slug}/bookings/{res.booking_id}")
    order = order_of(world.a, res.order_id)
    assert (order.status, order.paid_fen) == (OrderStatus.PAID, order.total_fen)
    assert booking_of(world.a, res.booking_id).status == BookingStatus.CONFIRMED
    # the page now says it is paid, with no card field
    page = http("GET", path).text
    assert "data-status='paid'" in page
    assert "id='card-element'" not in page


def test_a_declined_card_shows_an_error_and_keeps_the_order_open(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    path = _path(res.pay_url)
    r = http("POST", f"{path}/confirm", json={"token": card_token(CARD_DECLINED)})
    assert r.status_code == 402
    assert "拒绝" in r.json()["error"]
    assert order_of(world.a, res.order_id).status == OrderStatus.PENDING_PAYMENT


def test_bad_tokens_are_404_and_reveal_nothing(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    token = _path(res.pay_url).rsplit("/", 1)[1]
    tid, oid, mac = token.split(".")
    forged = f"{tid}.{int(oid) + 1}.{mac}"
    other_tenant = f"{world.b.id}.{oid}.{mac}"
    for bad in ("nope", forged, other_tenant, f"{tid}.{oid}.{mac[:-1]}x"):
        assert http("GET", f"/api/pay/{bad}").status_code == 404
        assert http("POST", f"/api/pay/{bad}/confirm", json={"token": "tok_x"}).status_code == 404
    # a token signed for an order of tenant A, presented for tenant B's id, never reaches B
    assert services.read_pay_token(other_tenant) is None


def test_confirm_refuses_junk(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a)
    path = _path(res.pay_url)
    assert http("POST", f"{path}/confirm", content=b"not json").status_code == 400
    assert http("POST", f"{path}/confirm", json={"token": 5}).status_code == 400
    r = http("POST", f"{path}/confirm", json={"token": "not-a-token"})
    assert r.status_code == 402
    assert order_of(world.a, res.order_id).status == OrderStatus.PENDING_PAYMENT


def test_an_order_paid_at_the_clinic_has_no_pay_page_form(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a, method="clinic")
    token = services.pay_token(world.a.id, res.order_id)
    page = http("GET", f"/api/pay/{token}").text
    assert "id='card-element'" not in page
    assert re.search(r"data-status='pending_payment'", page)


def test_an_order_past_its_hold_cannot_be_paid_on_the_page(world: World) -> None:
    shop = make_shop(world.a, world.admin_a)
    res = checkout(shop, world.patient_a, now=shop.now - timedelta(minutes=20))
    r = http("GET", _path(res.pay_url))
    assert r.status_code == 200
    assert "data-status='expired'" in r.text
    assert "id='card-element'" not in r.text
    assert payments_of(world.a, res.order_id) == []
    r = http("POST", f"{_path(res.pay_url)}/confirm", json={"token": card_token()})
    assert r.status_code == 402
    assert payments_of(world.a, res.order_id) == []
