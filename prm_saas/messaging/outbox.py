"""The outbox: enqueueing messages and claiming the due ones for delivery.

Every message is a row before anything is sent, under a dedupe key unique per
tenant, so enqueueing twice (a retried booking, beat firing twice) records it
once. Claiming is a conditional UPDATE ... RETURNING: two dispatchers running at
once never claim the same row.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from prm_saas.accounts.models import Patient
from prm_saas.messaging.models import Channel, Message, MessageStatus
from prm_saas.messaging.templates import spec_of
from tenants.db import TenantSession
from tenants.errors import DomainError
from tenants.models import Tenant
from tenants.types import utcnow


def lease() -> timedelta:
    """How long a claimed row may wait for (or spend in) its send before it is
    claimed again. Longer than the slowest send (SMTP and SMS time out after
    10 s) and than a worker's restart; tests shorten it through the environment."""
    return timedelta(seconds=int(os.environ.get("PRM_MESSAGING_LEASE_S", "300")))


class NoAddress(DomainError):
    """The patient has no address on that channel."""

    key = "messaging.no_address"


@dataclass(frozen=True)
class _Recipient:
    address: str
    locale: str
    timezone: str
    name: str


def _recipient(session: TenantSession, patient_id: int, channel: Channel) -> _Recipient:
    patient = session.exec(select(Patient).where(Patient.id == patient_id)).first()
    if patient is None:
        raise NoAddress()
    tenant = session.get(Tenant, session.tenant_id)
    locale = patient.locale or (str(tenant.default_locale) if tenant else "zh-CN")
    if channel == Channel.EMAIL:
        address = patient.email or ""
    elif channel == Channel.SMS:
        address = patient.phone or ""
    else:
        address = f"patient:{patient_id}"
    if not address:
        raise NoAddress()
    return _Recipient(
        address=address, locale=locale, timezone=patient.timezone or "", name=patient.name
    )


def enqueue(
    session: TenantSession,
    *,
    template_key: str,
    channel: Channel,
    patient_id: int,
    variables: dict[str, Any],
    dedupe_key: str,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    urgent: bool = False,
    source: str = "",
) -> Message:
    """Record a message for ``patient_id`` (idempotent on ``dedupe_key``).

    The template is rendered when the message is sent, in the patient's
    language, so a tenant's wording change reaches messages already scheduled.
    """
    existing = _existing(session, dedupe_key)
    if existing is not None:
        return existing
    to = _recipient(session, patient_id, channel)
    return _insert(
        session,
        template_key=template_key,
        channel=channel,
        patient_id=patient_id,
        recipient=to,
        variables=variables,
        dedupe_key=dedupe_key,
        due_at=due_at,
        expires_at=expires_at,
        urgent=urgent,
        source=source,
    )


def enqueue_to_address(
    session: TenantSession,
    *,
    template_key: str,
    channel: Channel,
    to_address: str,
    name: str,
    locale: str,
    variables: dict[str, Any],
    dedupe_key: str,
    expires_at: datetime | None = None,
    source: str = "",
) -> Message:
    """Record an urgent account message for someone who is not a patient (a staff
    member's invitation, a password-reset code): no consent or cap applies."""
    existing = _existing(session, dedupe_key)
    if existing is not None:
        return existing
    to = _Recipient(address=to_address, locale=locale, timezone="", name=name)
    return _insert(
        session,
        template_key=template_key,
        channel=channel,
        patient_id=None,
        recipient=to,
        variables=variables,
        dedupe_key=dedupe_key,
        due_at=None,
        expires_at=expires_at,
        urgent=True,
        source=source,
    )


def _existing(session: TenantSession, dedupe_key: str) -> Message | None:
    return session.exec(select(Message).where(Message.dedupe_key == dedupe_key[:200])).first()


def _insert(
    session: TenantSession,
    *,
    template_key: str,
    channel: Channel,
    patient_id: int | None,
    recipient: _Recipient,
    variables: dict[str, Any],
    dedupe_key: str,
    due_at: datetime | None,
    expires_at: datetime | None,
    urgent: bool,
    source: str,
) -> Message:
    spec = spec_of(template_key)
    unknown = set(variables) - spec.allowed
    if unknown:
        raise ValueError(f"{template_key}: unknown variables {sorted(unknown)}")
    now = utcnow()
    msg = Message(
        patient_id=patient_id,
        to_address=recipient.address,
        channel=channel,
        category=spec.category,
        urgent=urgent,
        template_key=template_key,
        locale=recipient.locale,
        recipient_tz=recipient.timezone,
        variables=json.dumps(
            {"patient_name": recipient.name, **variables}, ensure_ascii=False, default=str
        ),
        dedupe_key=dedupe_key[:200],
        source=source[:80],
        status=MessageStatus.SCHEDULED,
        due_at=due_at or now,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(msg)
            session.flush()
    except IntegrityError:
        # Enqueued concurrently under the same key: that row is the message.
        return session.exec(select(Message).where(Message.dedupe_key == dedupe_key[:200])).one()
    return msg


def claim_due(session: TenantSession, *, now: datetime, limit: int) -> list[int]:
    """Move up to ``limit`` due rows to ``queued`` (with a lease) and return their ids.

    Also reclaims rows whose lease ran out: ``queued`` rows whose send task was
    lost, and ``sending`` rows whose worker died mid-send (sent again with the
    same idempotency key).
    """
    due = session.exec(
        select(Message.id)
        .where(
            ((col(Message.status) == MessageStatus.SCHEDULED) & (col(Message.due_at) <= now))
            | (
                col(Message.status).in_([MessageStatus.QUEUED, MessageStatus.SENDING])
                & (col(Message.lease_until) < now)
            )
        )
        .order_by(col(Message.due_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    ids = [i for i in due if i is not None]
    if not ids:
        return []
    claimed = session.exec(
        update(Message)
        .where(
            col(Message.id).in_(ids),
            ((col(Message.status) == MessageStatus.SCHEDULED) & (col(Message.due_at) <= now))
            | (
                col(Message.status).in_([MessageStatus.QUEUED, MessageStatus.SENDING])
                & (col(Message.lease_until) < now)
            ),
        )
        .values(status=MessageStatus.QUEUED, lease_until=now + lease(), updated_at=now)
        .returning(col(Message.id))
    ).all()
    return sorted(int(row[0]) for row in claimed)


def claim_ids(session: TenantSession, *, ids: list[int], now: datetime) -> list[int]:
    """Claim these scheduled, due rows (to send them right away); returns those claimed."""
    if not ids:
        return []
    claimed = session.exec(
        update(Message)
        .where(
            col(Message.id).in_(ids),
            col(Message.status) == MessageStatus.SCHEDULED,
            col(Message.due_at) <= now,
        )
        .values(status=MessageStatus.QUEUED, lease_until=now + lease(), updated_at=now)
        .returning(col(Message.id))
    ).all()
    return sorted(int(row[0]) for row in claimed)


def suppress_scheduled(
    session: TenantSession, *, dedupe_keys: list[str], reason: str, now: datetime
) -> int:
    """Drop messages still waiting in the outbox (``scheduled``) under these keys, e.g.
    the reminders of a booking that was cancelled or moved; returns how many."""
    keys = [k[:200] for k in dedupe_keys]
    if not keys:
        return 0
    result = session.exec(
        update(Message)
        .where(
            col(Message.dedupe_key).in_(keys),
            col(Message.status) == MessageStatus.SCHEDULED,
        )
        .values(status=MessageStatus.SUPPRESSED, suppressed_reason=reason[:40], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
