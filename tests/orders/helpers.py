"""Builders and Stripe-side helpers for the orders tests.

Stripe is localstripe (tests/orders/conftest.py). Card tokens are made the way
Stripe.js makes them (POST /v1/tokens with the publishable key). Webhooks are
delivered to the real Starlette route, signed with Stripe's scheme
(``t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<payload>")``), carrying objects read
back from localstripe, so a test can deliver events in any order.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import func, select

from prm_saas.accounts.authz import Principal
from prm_saas.api.app import create_api
from prm_saas.booking.models import Booking, Slot
from prm_saas.orders import services
from prm_saas.orders.models import Order, Payment, Refund, StripeEvent
from prm_saas.settings import get_settings
from tenants.db import platform_session, tenant_session
from tenants.resolution import TenantInfo
from tenants.types import utcnow
from tests.booking.builders import make_location, make_package, slots_of

PRICE_FEN = 50000  # tests.booking.builders.make_package's sale price
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # attaches, then the charge fails


@dataclass(frozen=True)
class Shop:
    """A tenant with a location, a published package and a bookable slot."""

    tenant: TenantInfo
    location_id: int
    package_id: int
    slot_id: int
    now: datetime


def make_shop(tenant: TenantInfo, admin: Principal, *, capacity: int = 2) -> Shop:
    """A location open every day, a package offered there, the first slot two days ahead
    (of the real clock: the pay page and webhooks run on the real clock)."""
    now = utcnow()
    lid = make_location(tenant, admin, capacity=capacity)
    pid = make_package(tenant, [lid])
    day = now.astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)
    slot = int(slots_of(tenant, lid, day, now)[0].id)
    return Shop(tenant=tenant, location_id=lid, package_id=pid, slot_id=slot, now=now)


def checkout(
    shop: Shop,
    patient: Principal,
    *,
    key: str = "key-1",
    method: str = "stripe",
    now: datetime | None = None,
) -> services.CheckoutResult:
    """The patient checks out the shop's package in its slot."""
    with tenant_session(shop.tenant.id) as s:
        return services.checkout(
            session=s,
            actor=patient,
            package_id=shop.package_id,
            location_id=shop.location_id,
            slot_id=shop.slot_id,
            addon_item_ids=[],
            payment_method=method,
            idempotency_key=key,
            now=now or shop.now,
        )


def intent_for(tenant: TenantInfo, order_id: int, now: datetime | None = None) -> str:
    """The order's PaymentIntent id (made on first call)."""
    with tenant_session(tenant.id) as s:
        return services.create_payment_intent(session=s, order_id=order_id, now=now or utcnow()).id


def card_token(number: str = CARD_OK) -> str:
    """A card token, made as Stripe.js makes it (publishable key in the body)."""
    s = get_settings()
    body = urllib.parse.urlencode(
        {
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2031",
            "card[cvc]": "123",
            "key": s.stripe_publishable_key,
        }
    ).encode()
    req = urllib.request.Request(f"{s.stripe_api_base}/v1/tokens", data=body)  # noqa: S310
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        return str(json.load(r)["id"])


def pay(tenant: TenantInfo, order_id: int, number: str = CARD_OK) -> str:
    """Pay the order at Stripe (server-side confirm, as the pay page does); the
    order itself is not touched until a sync or a webhook. Returns the intent status."""
    token = card_token(number)
    with tenant_session(tenant.id) as s:
        return services.confirm_card(
            session=s, order_id=order_id, card_token=token, now=utcnow()
        ).status


def stripe_get(path: str) -> dict[str, Any]:
    """GET a Stripe object from localstripe as raw JSON (what a webhook would carry)."""
    s = get_settings()
    req = urllib.request.Request(  # noqa: S310
        f"{s.stripe_api_base}{path}",
        headers={"Authorization": f"Bearer {s.stripe_secret_key}"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        data: dict[str, Any] = json.load(r)
        return data


def stripe_post(path: str, fields: dict[str, str]) -> dict[str, Any]:
    """POST to localstripe with the secret key (e.g. a refund made in Stripe's dashboard)."""
    s = get_settings()
    req = urllib.request.Request(  # noqa: S310
        f"{s.stripe_api_base}{path}",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Authorization": f"Bearer {s.stripe_secret_key}"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        data: dict[str, Any] = json.load(r)
        return data


def localstripe_events(intent_id: str) -> list[dict[str, Any]]:
    """The events localstripe itself generated about this PaymentIntent (every page:
    a localstripe shared by the whole run holds the other tests' events too, oldest
    first)."""
    found: list[dict[str, Any]] = []
    after = ""
    while True:
        page = stripe_get(f"/v1/events?limit=100{f'&starting_after={after}' if after else ''}")
        found += [e for e in page["data"] if e["data"]["object"].get("id") == intent_id]
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def event(etype: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    """A Stripe event envelope around ``obj``."""
    return {
        "id": f"evt_{secrets.token_hex(8)}",
        "object": "event",
        "api_version": "2017-08-15",
        "created": created or int(time.time()),
        "livemode": False,
        "type": etype,
        "data": {"object": obj},
    }


def sign(payload: bytes, *, secret: str | None = None, ts: int | None = None) -> str:
    """A Stripe-Signature header for ``payload``."""
    key = secret if secret is not None else get_settings().stripe_webhook_secret
    t = ts or int(time.time())
    mac = hmac.new(key.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def http(method: str, url: str, **kw: Any) -> httpx.Response:
    """One request to the real Starlette app, in process."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_api())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, url, **kw)

    return asyncio.run(call())


def deliver(
    evt: dict[str, Any], *, signature: str | None = None, body: bytes | None = None
) -> httpx.Response:
    """POST the event to /api/webhooks/stripe, signed unless told otherwise."""
    payload = body if body is not None else json.dumps(evt).encode()
    sig = signature if signature is not None else sign(payload)
    return http(
        "POST",
        "/api/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sig, "Content-Type": "application/json"},
    )


def order_of(tenant: TenantInfo, order_id: int) -> Order:
    """The order row as stored."""
    with tenant_session(tenant.id) as s:
        return s.exec(select(Order).where(Order.id == order_id)).one()


def booking_of(tenant: TenantInfo, booking_id: int) -> Booking:
    """The booking row as stored."""
    with tenant_session(tenant.id) as s:
        return s.exec(select(Booking).where(Booking.id == booking_id)).one()


def seats(tenant: TenantInfo, slot_id: int) -> int:
    """The slot's seat counter."""
    with tenant_session(tenant.id) as s:
        return int(s.exec(select(Slot.booked).where(Slot.id == slot_id)).one())


def count(tenant: TenantInfo, model: type[Any]) -> int:
    """Rows of a tenant table."""
    with tenant_session(tenant.id) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def refunds_of(tenant: TenantInfo, order_id: int) -> list[Refund]:
    """The order's refund rows."""
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(Refund).where(Refund.order_id == order_id)).all())


def payments_of(tenant: TenantInfo, order_id: int) -> list[Payment]:
    """The order's payment rows."""
    with tenant_session(tenant.id) as s:
        return list(s.exec(select(Payment).where(Payment.order_id == order_id)).all())


def stored_event_count() -> int:
    """Rows in the platform's stripe_event table."""
    with platform_session() as s:
        return int(s.exec(select(func.count()).select_from(StripeEvent)).one())


def stripe_refunds(intent_id: str) -> list[dict[str, Any]]:
    """The refunds localstripe has for the PaymentIntent."""
    return list(stripe_get(f"/v1/refunds?payment_intent={intent_id}")["data"])


def stripe_post_config(path: str, fields: dict[str, str]) -> None:
    """POST to localstripe's /_config API (webhook registration; no key needed)."""
    s = get_settings()
    req = urllib.request.Request(  # noqa: S310
        f"{s.stripe_api_base}{path}", data=urllib.parse.urlencode(fields).encode()
    )
    with urllib.request.urlopen(req, timeout=10):  # noqa: S310
        pass
