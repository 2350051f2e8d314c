"""Stripe webhooks: verify, store once per event id, apply once, in the right tenant.

1. ``stripe.Webhook.construct_event`` verifies the signature against
   ``STRIPE_WEBHOOK_SECRET``; a bad one stores nothing (``BadSignature``).
2. The event is stored in ``stripe_event`` (a platform table, unique event id)
   in its own transaction, so it is on record even if applying it fails.
3. Applying claims the row (``UPDATE ... SET processed_at WHERE processed_at IS
   NULL``) and, in the same transaction, moves into the tenant named by the
   PaymentIntent's metadata (set by us when we created it) and runs
   ``sync_payment_intent``. A replay, or a duplicate delivered at the same time,
   finds the row claimed (the second UPDATE waits for the first's commit and then
   matches nothing) and changes nothing. If applying fails, the claim rolls back
   with it and Stripe's retry applies the event later.

The event's own snapshot is used only to find the tenant and the PaymentIntent;
the state comes from Stripe at the time of applying, so any order of arrival
ends in the same state.

Platform billing's types (``invoice.*``, ``customer.subscription.*``) take the
same path with ``prm_saas.billing.webhooks``: re-read from Stripe before storing,
applied in the claiming transaction. Every other type is stored and ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from prm_saas.billing import webhooks as billing_webhooks
from prm_saas.orders import stripe_gateway as gateway
from prm_saas.orders.models import StripeEvent
from prm_saas.orders.services import sync_payment_intent
from tenants.context import tenant_context
from tenants.db import bind_tenant, platform_session
from tenants.models import Tenant

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 512 * 1024
PAYLOAD_MAX = 20000
HANDLED_PREFIXES = ("payment_intent.", "charge.", "refund.")


class WebhookInvalid(Exception):
    """A verified body that is not an event we can read."""


@dataclass(frozen=True)
class WebhookResult:
    """What the webhook did: ``duplicate``, ``ignored``, ``unknown``, ``mismatch``,
    or the sync's outcome (``paid``, ``already_paid``, ``requires_payment_method``...)."""

    event_id: str
    outcome: str


def _subject(obj: dict[str, Any]) -> tuple[int | None, str | None]:
    """(tenant id, PaymentIntent id) named by the event's object."""
    kind = obj.get("object")
    if kind == "payment_intent":
        intent_id = str(obj.get("id") or "")
    else:
        intent_id = str(obj.get("payment_intent") or "")
    if not intent_id.startswith("pi_"):
        return None, None
    meta = obj.get("metadata") or {}
    raw = meta.get("tenant_id") if isinstance(meta, dict) else None
    if raw is None and kind != "payment_intent":
        # A charge or refund made outside our code carries no metadata of ours:
        # the PaymentIntent's (ours) names the tenant.
        raw = gateway.retrieve_payment_intent(intent_id).metadata.get("tenant_id")
    try:
        return (int(str(raw)), intent_id) if raw is not None else (None, intent_id)
    except ValueError:
        return None, intent_id


def _applied(event_id: str) -> bool:
    with platform_session() as s:
        return (
            s.exec(
                select(StripeEvent.id).where(
                    StripeEvent.event_id == event_id, col(StripeEvent.processed_at).is_not(None)
                )
            ).first()
            is not None
        )


def _store(event_id: str, etype: str, created: int, tenant_id: int | None, body: str) -> None:
    with platform_session() as s:
        if s.exec(select(StripeEvent.id).where(StripeEvent.event_id == event_id)).first():
            return
        try:
            with s.begin_nested():
                s.add(
                    StripeEvent(
                        event_id=event_id,
                        type=etype[:60],
                        created=created,
                        subject_tenant_id=tenant_id,
                        payload=body[:PAYLOAD_MAX],
                    )
                )
                s.flush()
        except IntegrityError:
            pass  # the same event, stored by a concurrent delivery


def handle_stripe_webhook(*, payload: bytes, signature: str, now: datetime) -> WebhookResult:
    """Verify, store and apply one Stripe webhook delivery (see the module docstring).
    Raises ``gateway.BadSignature`` (nothing stored), ``WebhookInvalid``,
    ``gateway.PaymentGatewayError`` (Stripe unreachable: nothing applied, retry)
    and ``TenantReadOnly`` (suspended tenant: nothing applied, retry later)."""
    event = gateway.construct_event(payload, signature)
    event_id = str(event.get("id") or "")
    etype = str(event.get("type") or "")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not event_id.startswith("evt_") or not etype or not isinstance(obj, dict):
        raise WebhookInvalid("not an event")
    try:
        created = int(event.get("created") or 0)
    except (TypeError, ValueError):
        created = 0
    if _applied(event_id):
        # A replay of an event already applied: answered before any call to Stripe
        # (the claim below still decides for deliveries that race each other).
        return WebhookResult(event_id, "duplicate")
    handled = etype.startswith(HANDLED_PREFIXES)
    tenant_id, intent_id = _subject(obj) if handled else (None, None)
    # Platform billing (invoice.*, customer.subscription.*): re-read from Stripe now,
    # outside any transaction; applied below in the claiming one.
    billing = billing_webhooks.handles(etype)
    fetched = billing_webhooks.fetch(etype, obj) if billing else None
    if fetched is not None:
        tenant_id = fetched.tenant_id
    _store(event_id, etype, created, tenant_id, payload.decode("utf-8", "replace"))

    with platform_session(allow_tenant_switch=True) as s:
        claimed = s.exec(
            update(StripeEvent)
            .where(col(StripeEvent.event_id) == event_id, col(StripeEvent.processed_at).is_(None))
            .values(processed_at=now)
            .execution_options(synchronize_session=False)
        )
        if int(cast(CursorResult[Any], claimed).rowcount) != 1:
            return WebhookResult(event_id, "duplicate")
        if billing:
            return WebhookResult(event_id, billing_webhooks.apply(s, fetched, now=now))
        if tenant_id is None or intent_id is None:
            return WebhookResult(event_id, "ignored")
        if s.get(Tenant, tenant_id) is None:
            log.warning("stripe event %s names unknown tenant %s", event_id, tenant_id)
            return WebhookResult(event_id, "ignored")
        bind_tenant(s, tenant_id)
        with tenant_context(tenant_id):
            outcome = sync_payment_intent(session=s, intent_id=intent_id, now=now)
        if outcome in ("unknown", "mismatch"):
            log.warning(
                "stripe event %s (%s) for %s: %s in tenant %s; nothing changed",
                event_id,
                etype,
                intent_id,
                outcome,
                tenant_id,
            )
        return WebhookResult(event_id, outcome)


def stored_events() -> list[dict[str, Any]]:
    """Every stored event (event id, type, processed?) — for tests and support."""
    with platform_session() as s:
        rows = s.exec(select(StripeEvent).order_by(col(StripeEvent.id))).all()
        return [
            {
                "event_id": r.event_id,
                "type": r.type,
                "tenant_id": r.subject_tenant_id,
                "processed": r.processed_at is not None,
                "payload": _json_or_none(r.payload),
            }
            for r in rows
        ]


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None  # stored truncated (PAYLOAD_MAX)
