"""Stripe through the official SDK (``stripe.StripeClient``), and nothing else.

In dev and tests ``PRM_STRIPE_API_BASE`` points the client at localstripe (a
stateful fake Stripe, scripts/localstripe.sh); unset, it talks to Stripe itself.
Every call returns small frozen views, so the services never handle SDK objects,
and every failure to reach Stripe or a refusal by it becomes ``PaymentGatewayError``
(a ``DomainError`` the user sees as "payment service unavailable, try again").

localstripe ignores ``Idempotency-Key``; the services therefore never rely on it
alone (a PaymentIntent is created under the order's row lock, once per order),
but send it anyway so real Stripe deduplicates retries too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe

from prm_saas.settings import get_settings
from tenants.errors import DomainError

log = logging.getLogger(__name__)

CURRENCY = "cny"


class PaymentGatewayError(DomainError):
    """Stripe could not be reached or refused the request."""

    key = "orders.payment_unavailable"


class StripeNotConfigured(PaymentGatewayError):
    """No Stripe secret key is configured."""


class BadSignature(Exception):
    """A webhook whose signature (or payload) does not verify."""


@dataclass(frozen=True)
class IntentView:
    """What the services need of a PaymentIntent."""

    id: str
    status: str
    amount: int
    currency: str
    client_secret: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundView:
    """What the services need of a Refund."""

    id: str
    amount: int
    status: str
    metadata: dict[str, str] = field(default_factory=dict)


_lock = threading.Lock()
_clients: dict[tuple[str, str | None], stripe.StripeClient] = {}


def is_local() -> bool:
    """Whether we talk to localstripe (its fake Stripe.js has no confirmCardPayment
    for a fresh card: the pay page then confirms on the server, see api/payments)."""
    return get_settings().stripe_api_base is not None


def client() -> stripe.StripeClient:
    """The SDK client for the configured key and API base (one per process)."""
    s = get_settings()
    if not s.stripe_secret_key:
        raise StripeNotConfigured()
    key = (s.stripe_secret_key, s.stripe_api_base)
    with _lock:
        c = _clients.get(key)
        if c is None:
            c = stripe.StripeClient(
                s.stripe_secret_key,
                base_addresses={"api": s.stripe_api_base} if s.stripe_api_base else {},
                max_network_retries=2,
            )
            _clients[key] = c
        return c


def _plain(obj: Any) -> dict[str, Any]:
    """An SDK object as a plain dict (StripeObject is no dict in v16)."""
    if hasattr(obj, "to_dict"):
        data: dict[str, Any] = obj.to_dict()
        return data
    return dict(obj)


def _metadata(obj: Any) -> dict[str, str]:
    raw = _plain(obj).get("metadata")
    if not raw:
        return {}
    return {str(k): str(v) for k, v in dict(raw).items()}


def _intent(obj: Any) -> IntentView:
    pi = _plain(obj)
    return IntentView(
        id=str(pi["id"]),
        status=str(pi["status"]),
        amount=int(pi["amount"]),
        currency=str(pi.get("currency") or ""),
        client_secret=str(pi.get("client_secret") or ""),
        metadata=_metadata(obj),
    )


def _fail(action: str, exc: Exception) -> PaymentGatewayError:
    log.warning("stripe %s failed: %s", action, exc)
    return PaymentGatewayError()


def create_payment_intent(
    *, amount_fen: int, metadata: Mapping[str, str], idempotency_key: str
) -> IntentView:
    """A card PaymentIntent for ``amount_fen`` fen (CNY)."""
    try:
        pi = client().v1.payment_intents.create(
            params={
                "amount": amount_fen,
                "currency": CURRENCY,
                "metadata": dict(metadata),
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _fail("create payment intent", exc) from exc
    return _intent(pi)


def retrieve_payment_intent(intent_id: str) -> IntentView:
    """The PaymentIntent as Stripe has it now (the truth every sync starts from)."""
    try:
        pi = client().v1.payment_intents.retrieve(intent_id)
    except stripe.StripeError as exc:
        raise _fail("retrieve payment intent", exc) from exc
    return _intent(pi)


def cancel_payment_intent(intent_id: str) -> bool:
    """Cancel an unpaid PaymentIntent; False if Stripe refused (already paid or
    cancelled) or could not be reached. Never raises: called after a commit."""
    try:
        client().v1.payment_intents.cancel(intent_id)
    except stripe.StripeError as exc:
        log.info("stripe cancel of %s refused: %s", intent_id, exc)
        return False
    return True


def confirm_with_card_token(intent_id: str, token: str) -> IntentView:
    """Attach the card of a Stripe.js token to the PaymentIntent and confirm it
    on the server (the localstripe flow; a 3-D Secure card then needs the
    browser's ``confirmCardPayment``, status ``requires_action``)."""
    try:
        tok = client().v1.tokens.retrieve(token)
        card_id = str(tok.card.id) if tok.card is not None else ""
        if not card_id:
            raise PaymentGatewayError("orders.card_invalid")
        c = client().v1.payment_intents
        c.update(intent_id, params={"payment_method": card_id})
        pi = c.confirm(intent_id)
    except stripe.CardError as exc:
        log.info("card declined for %s: %s", intent_id, exc)
        raise PaymentGatewayError("orders.card_declined") from exc
    except stripe.InvalidRequestError as exc:
        log.info("confirm of %s refused: %s", intent_id, exc)
        raise PaymentGatewayError("orders.card_invalid") from exc
    except stripe.StripeError as exc:
        raise _fail("confirm payment intent", exc) from exc
    return _intent(pi)


def create_refund(
    *, intent_id: str, amount_fen: int, metadata: Mapping[str, str], idempotency_key: str
) -> RefundView:
    """Refund ``amount_fen`` of the PaymentIntent's charge."""
    try:
        r = client().v1.refunds.create(
            params={"payment_intent": intent_id, "amount": amount_fen, "metadata": dict(metadata)},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _fail("refund", exc) from exc
    return RefundView(
        id=str(r["id"]), amount=int(r["amount"]), status=str(r["status"]), metadata=_metadata(r)
    )


def list_refunds(intent_id: str) -> list[RefundView]:
    """Every refund of the PaymentIntent, as Stripe has them."""
    try:
        page = client().v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
    except stripe.StripeError as exc:
        raise _fail("list refunds", exc) from exc
    return [
        RefundView(
            id=str(r["id"]), amount=int(r["amount"]), status=str(r["status"]), metadata=_metadata(r)
        )
        for r in page.data
    ]


def construct_event(payload: bytes, signature: str) -> dict[str, Any]:
    """The verified event as a plain dict (``stripe.Webhook.construct_event``)."""
    secret = get_settings().stripe_webhook_secret
    if not secret:
        raise BadSignature("no webhook secret configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise BadSignature(str(exc)) from exc
    data: dict[str, Any] = event.to_dict()
    return data
