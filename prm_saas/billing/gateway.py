"""Platform billing's Stripe calls through the official SDK (the orders' client).

Customers, Plans, subscriptions, invoice items and invoices of the tenants we
bill. Like ``prm_saas.orders.stripe_gateway`` every call returns small frozen
views and every failure becomes ``PaymentGatewayError`` (a declined card
``CardDeclined``), so the engine never handles SDK objects.

localstripe ignores ``Idempotency-Key``; each create is therefore a
find-or-create (a customer by email + metadata, an invoice item by its
metadata key, an invoice by its description), and the engine calls them under
the tenant's billing row lock. The keys are still sent for real Stripe.

localstripe quirks, isolated here (docs/design/billing.md):
- a subscription update with a new plan adds "Unused time" items crediting every
  earlier invoice and rejects ``proration_behavior``: we delete those items right
  after the update (real Stripe: ``proration_behavior="none"``);
- an invoice created for a customer always carries the subscription's plan line
  (real Stripe's carries only the pending items): an invoice of items only (a
  plan change) gets an offset item of minus the plan line, and the mirror drops
  both (``kind`` ``offset`` / ``subscription`` on such an invoice).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stripe

from prm_saas.orders.stripe_gateway import (
    CURRENCY,
    PaymentGatewayError,
    StripeNotConfigured,
    _metadata,
    _plain,
    client,
    is_local,
)

log = logging.getLogger(__name__)

__all__ = [
    "CURRENCY",
    "CardDeclined",
    "CardView",
    "InvoiceLine",
    "InvoiceView",
    "PaymentGatewayError",
    "StripeNotConfigured",
    "SubscriptionView",
]

UNUSED_TIME = "Unused time"  # localstripe's own proration items
OFFSET_KIND = "offset"


class CardDeclined(PaymentGatewayError):
    """The card was refused when attached (nothing was saved)."""

    key = "billing.card_declined"


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice."""

    description: str
    amount_fen: int
    quantity: int
    kind: str  # subscription, usage, proration, offset, item


@dataclass(frozen=True)
class InvoiceView:
    """What billing needs of a Stripe invoice."""

    id: str
    customer: str
    subscription: str
    number: str
    status: str  # draft open paid void uncollectible
    description: str
    currency: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    period_start: datetime | None
    period_end: datetime | None
    created: datetime
    paid_at: datetime | None
    lines: tuple[InvoiceLine, ...] = ()

    @property
    def unpaid(self) -> bool:
        """Still to be paid (an open invoice, or a draft we created to be paid now)."""
        return self.status in ("open", "draft") and self.amount_due > 0


@dataclass(frozen=True)
class SubscriptionView:
    """What billing needs of a Stripe subscription."""

    id: str
    customer: str
    status: str
    plan_id: str
    item_id: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CardView:
    """The card on file."""

    id: str
    brand: str
    last4: str
    exp: str  # MM/YYYY


def _ts(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _fail(action: str, exc: Exception) -> PaymentGatewayError:
    log.warning("stripe %s failed: %s", action, exc)
    return PaymentGatewayError()


def _line_kind(line: Mapping[str, Any]) -> str:
    meta = line.get("metadata") or {}
    kind = str(meta.get("kind") or "") if isinstance(meta, Mapping) else ""
    if kind:
        return kind
    return "subscription" if line.get("type") == "subscription" else "item"


def _invoice(obj: Any) -> InvoiceView:
    inv = _plain(obj)
    raw_lines = inv.get("lines") or {}
    data = raw_lines.get("data") if isinstance(raw_lines, Mapping) else None
    lines = tuple(
        InvoiceLine(
            description=str(ln.get("description") or ""),
            amount_fen=int(ln.get("amount") or 0),
            quantity=int(ln.get("quantity") or 1),
            kind=_line_kind(ln),
        )
        for ln in (data or [])
        if isinstance(ln, Mapping)
    )
    transitions = inv.get("status_transitions") or {}
    sub = inv.get("subscription")
    if isinstance(sub, Mapping):
        sub = sub.get("id")
    return InvoiceView(
        id=str(inv["id"]),
        customer=str(inv.get("customer") or ""),
        subscription=str(sub or ""),
        number=str(inv.get("number") or ""),
        status=str(inv.get("status") or "draft"),
        description=str(inv.get("description") or ""),
        currency=str(inv.get("currency") or CURRENCY),
        subtotal=int(inv.get("subtotal") or 0),
        total=int(inv.get("total") or 0),
        amount_due=int(inv.get("amount_due") or 0),
        amount_paid=int(inv.get("amount_paid") or 0),
        period_start=_ts(inv.get("period_start")),
        period_end=_ts(inv.get("period_end")),
        created=_ts(inv.get("created")) or datetime.now(UTC),
        paid_at=_ts(transitions.get("paid_at")) if isinstance(transitions, Mapping) else None,
        lines=lines,
    )


def _subscription(obj: Any) -> SubscriptionView:
    sub = _plain(obj)
    items = (sub.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    plan = first.get("plan") or sub.get("plan") or {}
    return SubscriptionView(
        id=str(sub["id"]),
        customer=str(sub.get("customer") or ""),
        status=str(sub.get("status") or ""),
        plan_id=str(plan.get("id") if isinstance(plan, Mapping) else plan or ""),
        item_id=str(first.get("id") or ""),
        current_period_start=_ts(sub.get("current_period_start")),
        current_period_end=_ts(sub.get("current_period_end")),
        metadata=_metadata(obj),
    )


def _idem(*parts: str) -> str:
    """An Idempotency-Key for these parts (ASCII: HTTP headers are latin-1)."""
    return "prm-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:48]


def _is_missing(exc: stripe.StripeError) -> bool:
    return getattr(exc, "http_status", None) == 404


# --- customers ------------------------------------------------------------------------


def find_or_create_customer(*, tenant_id: int, account_key: str, email: str, name: str) -> str:
    """The tenant's Stripe customer (metadata ``tenant_id`` and ``account``: a key of
    the billing account, so a database rebuilt with the same tenant ids never picks up
    an old customer), created if none exists yet (one found by email and metadata is
    reused: a crash after the create left it)."""
    c = client().v1.customers
    meta = {"tenant_id": str(tenant_id), "account": account_key}
    try:
        if email:
            for cus in c.list(params={"email": email, "limit": 100}).data:
                if _metadata(cus) == meta:
                    return str(cus["id"])
        params: dict[str, Any] = {"name": name, "metadata": meta}
        if email:
            params["email"] = email
        cus = c.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": _idem("customer", str(tenant_id), account_key)},
        )
    except stripe.StripeError as exc:
        raise _fail("create customer", exc) from exc
    return str(cus["id"])


def customer_tenant_id(customer_id: str) -> int | None:
    """The tenant id in the customer's metadata (None: not one of ours / unknown)."""
    try:
        cus = client().v1.customers.retrieve(customer_id)
    except stripe.StripeError as exc:
        if _is_missing(exc):
            return None
        raise _fail("retrieve customer", exc) from exc
    raw = _metadata(cus).get("tenant_id", "")
    return int(raw) if raw.isdigit() else None


def attach_card(*, customer_id: str, card_token: str) -> CardView:
    """Save the card of a Stripe.js token on the customer and make it the default one
    for invoices. A declined card raises ``CardDeclined`` and changes nothing."""
    if (
        not isinstance(card_token, str)
        or not card_token.startswith("tok_")
        or len(card_token) > 100
    ):
        raise CardDeclined("billing.card_invalid")
    try:
        card = client().v1.customers.payment_sources.create(
            customer_id, params={"source": card_token}
        )
        data = _plain(card)
        client().v1.customers.update(customer_id, params={"default_source": str(data["id"])})
    except stripe.CardError as exc:
        log.info("card declined for %s: %s", customer_id, exc)
        raise CardDeclined() from exc
    except stripe.InvalidRequestError as exc:
        log.info("card token refused for %s: %s", customer_id, exc)
        raise CardDeclined("billing.card_invalid") from exc
    except stripe.StripeError as exc:
        if getattr(exc, "http_status", None) == 402:
            raise CardDeclined() from exc
        raise _fail("attach card", exc) from exc
    month = int(data.get("exp_month") or 0)
    return CardView(
        id=str(data["id"]),
        brand=str(data.get("brand") or "")[:20],
        last4=str(data.get("last4") or "")[-4:],
        exp=f"{month:02d}/{int(data.get('exp_year') or 0)}" if month else "",
    )


# --- plans and subscriptions ---------------------------------------------------------


def stripe_plan_id(code: str, monthly_fen: int) -> str:
    """The deterministic id of the Stripe Plan for a price of a plan (a Stripe Plan's
    amount cannot change: a new price is a new Plan)."""
    return f"prm-{code}-{monthly_fen}-{CURRENCY}-month"


def ensure_plan(*, code: str, name: str, monthly_fen: int) -> str:
    """The Stripe Plan of this (plan, price), created on first use; its id."""
    plan_id = stripe_plan_id(code, monthly_fen)
    c = client().v1.plans
    try:
        try:
            c.retrieve(plan_id)
            return plan_id
        except stripe.InvalidRequestError as exc:
            if not _is_missing(exc):
                raise
        try:
            c.create(
                params={
                    "id": plan_id,
                    "amount": monthly_fen,
                    "currency": CURRENCY,
                    "interval": "month",
                    "product": {"name": name or code},
                    "metadata": {"plan_code": code},
                },
                options={"idempotency_key": f"prm-plan-{plan_id}"},
            )
        except stripe.StripeError as exc:
            # Created meanwhile by another process: that one is as good.
            if getattr(exc, "http_status", None) not in (400, 409):
                raise
            c.retrieve(plan_id)
    except stripe.StripeError as exc:
        raise _fail("ensure plan", exc) from exc
    return plan_id


def find_or_create_subscription(
    *, customer_id: str, plan_id: str, trial_end: datetime, tenant_id: int, account_key: str
) -> SubscriptionView:
    """The customer's subscription made by us (metadata ``tenant_id``), or a new one on
    ``plan_id`` trialing until ``trial_end`` (our beat bills each period, so Stripe must
    not invoice at creation: the trial end is always in the future)."""
    c = client().v1.subscriptions
    try:
        meta = {"tenant_id": str(tenant_id), "account": account_key}
        for sub in c.list(params={"customer": customer_id, "limit": 100}).data:
            if _metadata(sub) == meta:
                return _subscription(sub)
        sub = c.create(
            params={
                "customer": customer_id,
                "items": [{"plan": plan_id}],
                "trial_end": int(trial_end.timestamp()),
                "metadata": meta,
            },
            options={"idempotency_key": _idem("subscription", str(tenant_id), account_key)},
        )
    except stripe.StripeError as exc:
        raise _fail("create subscription", exc) from exc
    return _subscription(sub)


def retrieve_subscription(subscription_id: str) -> SubscriptionView | None:
    """The subscription as Stripe has it now (None: no such subscription)."""
    try:
        return _subscription(client().v1.subscriptions.retrieve(subscription_id))
    except stripe.StripeError as exc:
        if _is_missing(exc):
            return None
        raise _fail("retrieve subscription", exc) from exc


def end_trial(subscription_id: str) -> None:
    """End the subscription's trial now (``trial_end="now"``)."""
    try:
        client().v1.subscriptions.update(subscription_id, params={"trial_end": "now"})
    except stripe.StripeError as exc:
        raise _fail("end trial", exc) from exc


def change_subscription_plan(*, subscription_id: str, plan_id: str) -> None:
    """Move the subscription to ``plan_id`` without Stripe's own proration (ours is an
    invoice item, docs/design/billing.md)."""
    c = client().v1
    try:
        sub = _subscription(c.subscriptions.retrieve(subscription_id))
        if sub.plan_id == plan_id:
            return
        if is_local():
            c.subscriptions.update(subscription_id, params={"items": [{"plan": plan_id}]})
            # localstripe credits every earlier invoice as "Unused time": drop those.
            for item in c.invoice_items.list(params={"customer": sub.customer, "limit": 100}).data:
                d = _plain(item)
                if (
                    d.get("description") == UNUSED_TIME
                    and d.get("proration")
                    and d.get("subscription") == subscription_id
                    and not d.get("invoice")
                ):
                    c.invoice_items.delete(str(d["id"]))
        else:
            c.subscriptions.update(
                subscription_id,
                params={
                    "items": [{"id": sub.item_id, "plan": plan_id}],
                    "proration_behavior": "none",
                },
            )
    except stripe.StripeError as exc:
        raise _fail("change subscription plan", exc) from exc


# --- invoice items and invoices ------------------------------------------------------


def add_invoice_item(
    *,
    customer_id: str,
    amount_fen: int,
    description: str,
    kind: str,
    key: str,
    subscription_id: str = "",
) -> str:
    """A pending invoice item (swept into the customer's next invoice); one per ``key``
    (metadata ``prm_key``): a pending item with the same key is returned instead."""
    c = client().v1.invoice_items
    try:
        for item in c.list(params={"customer": customer_id, "limit": 100}).data:
            if _metadata(item).get("prm_key") == key:
                return str(item["id"])
        params: dict[str, Any] = {
            "customer": customer_id,
            "amount": amount_fen,
            "currency": CURRENCY,
            "description": description,
            "metadata": {"kind": kind, "prm_key": key},
        }
        if subscription_id:
            params["subscription"] = subscription_id
        item = c.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": _idem("invoice-item", key)},
        )
    except stripe.StripeError as exc:
        raise _fail("create invoice item", exc) from exc
    return str(item["id"])


def delete_invoice_item(item_id: str) -> None:
    """Remove an invoice item (a plan change that did not go through). Never raises:
    an item already on a voided invoice is billed by nothing anyway."""
    try:
        client().v1.invoice_items.delete(item_id)
    except stripe.StripeError as exc:
        log.info("invoice item %s not deleted: %s", item_id, exc)


def list_invoices(customer_id: str) -> list[InvoiceView]:
    """The customer's invoices, newest first (up to 100)."""
    try:
        page = client().v1.invoices.list(params={"customer": customer_id, "limit": 100})
    except stripe.StripeError as exc:
        raise _fail("list invoices", exc) from exc
    return [_invoice(i) for i in page.data]


def create_invoice(
    *,
    customer_id: str,
    subscription_id: str,
    description: str,
    items_only: bool = False,
    plan_fen: int = 0,
) -> InvoiceView:
    """An invoice for the subscription with every pending item; one per
    ``description`` (an unpaid or paid invoice with it is returned instead: a crash
    after the create left it). ``items_only``: only the pending items are billed (a
    plan change's proration), see the module docstring for localstripe."""
    try:
        for inv in list_invoices(customer_id):
            if inv.description == description and inv.status != "void":
                return inv
        if items_only and is_local() and plan_fen:
            add_invoice_item(
                customer_id=customer_id,
                amount_fen=-plan_fen,
                description="plan line offset (localstripe)",
                kind=OFFSET_KIND,
                key=f"offset-{description}",
            )
        created = client().v1.invoices.create(
            params={
                "customer": customer_id,
                "subscription": subscription_id,
                "description": description,
            },
            options={"idempotency_key": _idem("invoice", customer_id, description)},
        )
    except stripe.StripeError as exc:
        raise _fail("create invoice", exc) from exc
    return _invoice(created)


def retrieve_invoice(invoice_id: str) -> InvoiceView | None:
    """The invoice as Stripe has it now (None: no such invoice)."""
    try:
        return _invoice(client().v1.invoices.retrieve(invoice_id))
    except stripe.StripeError as exc:
        if _is_missing(exc):
            return None
        raise _fail("retrieve invoice", exc) from exc


def pay_invoice(invoice_id: str) -> InvoiceView:
    """Charge the invoice to the customer's default card. A refused charge is no error
    here: the invoice comes back still open (localstripe answers so; real Stripe's
    CardError is turned into the same)."""
    try:
        inv = _invoice(client().v1.invoices.pay(invoice_id))
    except stripe.CardError as exc:
        log.info("invoice %s: charge refused: %s", invoice_id, exc)
        inv = None
    except stripe.InvalidRequestError as exc:
        # Already paid (a retry), or no card on file: the invoice says which.
        log.info("invoice %s: pay refused: %s", invoice_id, exc)
        inv = None
    except stripe.StripeError as exc:
        if getattr(exc, "http_status", None) in (402, 404):
            inv = None
        else:
            raise _fail("pay invoice", exc) from exc
    if inv is None:
        again = retrieve_invoice(invoice_id)
        if again is None:
            raise PaymentGatewayError()
        inv = again
    return inv


def void_invoice(invoice_id: str) -> None:
    """Void an unpaid invoice (a plan change whose payment failed)."""
    try:
        client().v1.invoices.void_invoice(invoice_id)
    except stripe.StripeError as exc:
        log.warning("void of invoice %s failed: %s", invoice_id, exc)


def when(value: datetime) -> str:
    """A UTC instant as text for descriptions and keys."""
    return value.astimezone(UTC).strftime("%Y-%m-%d")
