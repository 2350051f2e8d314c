"""SMS provider webhooks: delivery receipts and inbound replies, verified and kept once.

The contract a provider follows (tests/sms_provider.py plays one):

``POST /api/webhooks/sms/<tenant id>`` with a JSON body and two headers,

- ``X-PRM-Timestamp: <unix seconds>``
- ``X-PRM-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`` keyed
  with the tenant's webhook secret.

A signature older (or newer) than five minutes is refused, and each event id is
acted on once, so a captured request cannot be replayed. Bodies::

    {"type": "receipt", "id": "<event id>", "message_id": "<provider message id>",
     "status": "delivered", "client_ref": "<our idempotency key, optional>"}
    {"type": "inbound", "id": "<event id>", "from": "+8613800000001", "text": "退订"}

The tenant id in the URL is only a hint of which secret to check: a request
signed with another tenant's secret (or none) is refused before anything is
read, and everything it does happens inside the session of that tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from prm_saas.messaging.channels import payload_json
from prm_saas.messaging.models import Channel, Message, ProviderEvent
from prm_saas.messaging.preferences import sms_webhook_secret, stop_reply
from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.models import Tenant
from tenants.types import utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-PRM-Signature"
TIMESTAMP_HEADER = "X-PRM-Timestamp"
# How far a signature's timestamp may be from our clock, either way.
MAX_SKEW_S = 300
MAX_BODY_BYTES = 64 * 1024

_EVENT_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,120}$")
_STATUS_RE = re.compile(r"^[a-z_]{1,20}$")
_CLIENT_REF_RE = re.compile(r"^prm-([0-9]+)-([0-9]+)$")
# Receipts can arrive out of order; a late "sent" must not hide a "delivered".
_FINAL_DELIVERY = frozenset({"delivered", "failed", "undelivered", "rejected", "expired"})


class WebhookForbidden(Exception):
    """The request is not signed by this tenant's provider (or the signature is stale)."""


class WebhookInvalid(Exception):
    """Signed, but not a body we understand."""


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    """The X-PRM-Signature value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    *, secret: str, timestamp: str, signature: str, body: bytes, now: float | None = None
) -> str:
    """ "" when the signature is good and fresh, else why not (for the log only)."""
    if not secret:
        return "no webhook secret configured"
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "bad timestamp"
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_SKEW_S:
        return "stale timestamp"
    if not hmac.compare_digest(signature_of(secret, timestamp, body), signature.strip()):
        return "bad signature"
    return ""


@dataclass(frozen=True)
class WebhookResult:
    """What an accepted event did: ``duplicate``, ``ignored``, ``updated``,
    ``unmatched``, ``stopped`` or ``stored``."""

    outcome: str
    event_id: str = ""


def _text(payload: dict[str, Any], name: str, *, max_len: int, required: bool = True) -> str:
    value = payload.get(name, "")
    if not isinstance(value, str) or len(value) > max_len or (required and not value):
        raise WebhookInvalid(f"bad {name!r}")
    return value


def _message_for_receipt(
    session: TenantSession, provider_id: str, client_ref: str
) -> Message | None:
    if provider_id:
        msg = session.exec(
            select(Message).where(
                Message.channel == Channel.SMS, Message.provider_message_id == provider_id
            )
        ).first()
        if msg is not None:
            return msg
    # A receipt can beat our own record of the send (the worker died after the
    # provider accepted, or is still committing): the client_ref we sent names
    # the message. It only counts for this tenant's messages with no other id.
    m = _CLIENT_REF_RE.match(client_ref)
    if m is None or int(m.group(1)) != session.tenant_id:
        return None
    msg = session.exec(
        select(Message).where(Message.id == int(m.group(2)), Message.channel == Channel.SMS)
    ).first()
    if msg is None or msg.provider_message_id not in ("", provider_id):
        return None
    return msg


def _apply_receipt(session: TenantSession, payload: dict[str, Any]) -> str:
    provider_id = _text(payload, "message_id", max_len=120, required=False)
    client_ref = _text(payload, "client_ref", max_len=200, required=False)
    status = _text(payload, "status", max_len=40).strip().lower()
    if not _STATUS_RE.match(status):
        raise WebhookInvalid("bad 'status'")
    if not provider_id and not client_ref:
        raise WebhookInvalid("a receipt names no message")
    msg = _message_for_receipt(session, provider_id, client_ref)
    if msg is None:
        return "unmatched"
    if msg.delivery_status in _FINAL_DELIVERY and status not in _FINAL_DELIVERY:
        return "updated"  # an earlier step reported late: the final word stands
    session.exec(
        update(Message)
        .where(col(Message.id) == msg.id)
        .values(delivery_status=status, updated_at=utcnow())
    )
    return "updated"


def handle_sms_webhook(
    *,
    session: TenantSession,
    body: bytes,
    timestamp: str,
    signature: str,
    now: float | None = None,
) -> WebhookResult:
    """Verify a webhook against the session's tenant and act on it once.

    Raises NotFound (no such tenant), WebhookForbidden (not signed by this
    tenant's provider, or stale) or WebhookInvalid (signed but unreadable).
    """
    if session.tenant_id is None or session.get(Tenant, session.tenant_id) is None:
        raise NotFound()
    problem = verify_signature(
        secret=sms_webhook_secret(session),
        timestamp=timestamp,
        signature=signature,
        body=body,
        now=now,
    )
    if problem:
        log.warning("sms webhook for tenant %s refused: %s", session.tenant_id, problem)
        raise WebhookForbidden(problem)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookInvalid("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookInvalid("body is not a JSON object")
    event_id = _text(payload, "id", max_len=120)
    if not _EVENT_ID_RE.match(event_id):
        raise WebhookInvalid("bad 'id'")
    kind = payload.get("type")
    if kind not in ("receipt", "inbound"):
        return WebhookResult("ignored", event_id)
    seen = session.exec(
        select(ProviderEvent.id).where(
            ProviderEvent.channel == Channel.SMS, ProviderEvent.event_id == event_id
        )
    ).first()
    if seen is not None:
        return WebhookResult("duplicate", event_id)
    try:
        with session.begin_nested():
            session.add(
                ProviderEvent(
                    channel=Channel.SMS,
                    event_id=event_id,
                    kind=str(kind),
                    payload=payload_json(payload),
                    received_at=utcnow(),
                )
            )
            session.flush()
    except IntegrityError:
        return WebhookResult("duplicate", event_id)  # the same event, delivered concurrently
    if kind == "receipt":
        return WebhookResult(_apply_receipt(session, payload), event_id)
    phone = _text(payload, "from", max_len=40)
    text = _text(payload, "text", max_len=1600, required=False)
    stopped = stop_reply(session, phone=phone, text=text)
    return WebhookResult("stopped" if stopped is not None else "stored", event_id)
