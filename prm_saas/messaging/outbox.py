"""The outbox: enqueueing messages and claiming the due ones for delivery.

Every message is a row before anything is sent, under a dedupe key unique per
tenant, so enqueueing twice (a retried booking, beat firing twice) records it
once. Claiming is a conditional UPDATE ... RETURNING: two dispatchers running at
once never claim the same row.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import col, select, update

from prm_saas.accounts.models import Patient
from prm_saas.messaging.models import Channel, Message, MessageStatus
from prm_saas.messaging.templates import spec_of
from tenants.db import TenantSession, insert_rows
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


class EnqueueItem(NamedTuple):
    """One patient's message in ``enqueue_many`` (a plain 4-tuple works too)."""

    patient_id: int
    dedupe_key: str
    variables: dict[str, Any]
    source: str = ""


def _recipients(
    session: TenantSession, patient_ids: Sequence[int], channel: Channel
) -> dict[int, _Recipient]:
    """The session tenant's patients among ``patient_ids`` that have an address on
    ``channel``, in one query (the tenant's wall keeps other tenants' patients out,
    as missing)."""
    if not patient_ids:
        return {}
    rows = session.execute(
        sa.select(
            col(Patient.id),
            col(Patient.name),
            col(Patient.email),
            col(Patient.phone),
            col(Patient.locale),
            col(Patient.timezone),
        ).where(col(Patient.id).in_(sorted(set(patient_ids))))
    ).all()
    default_locale: str | None = None
    found: dict[int, _Recipient] = {}
    for pid, name, email, phone, locale, timezone in rows:
        if pid is None:
            continue
        if channel == Channel.EMAIL:
            address = email or ""
        elif channel == Channel.SMS:
            address = phone or ""
        else:
            address = f"patient:{pid}"
        if not address:
            continue
        if not locale and default_locale is None:
            tenant = session.get(Tenant, session.tenant_id)
            default_locale = str(tenant.default_locale) if tenant else "zh-CN"
        found[int(pid)] = _Recipient(
            address=address,
            locale=locale or default_locale or "zh-CN",
            timezone=timezone or "",
            name=name,
        )
    return found


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
    ids = _enqueue_many(
        session,
        template_key=template_key,
        channel=channel,
        items=[EnqueueItem(patient_id, dedupe_key, variables, source)],
        due_at=due_at,
        expires_at=expires_at,
        urgent=urgent,
    )
    if dedupe_key not in ids:
        raise NoAddress()
    return _load(session, ids[dedupe_key])


def enqueue_many(
    session: TenantSession,
    *,
    template_key: str,
    channel: Channel,
    items: Sequence[EnqueueItem | tuple[int, str, dict[str, Any], str]],
    due_at: datetime | None = None,
) -> dict[str, int]:
    """``enqueue`` for many patients of one template and channel, in a constant
    number of statements (the patients' addresses, the keys already used, one
    multi-row INSERT): ``items`` are ``(patient_id, dedupe_key, variables, source)``.

    Returns ``dedupe_key -> message id``; a key already used returns its message,
    as ``enqueue`` does (the first item wins when ``items`` repeat a key). A
    patient with no address on the channel (or not of the session's tenant) gets
    no message and their key is left out of the result: what ``enqueue`` reports
    with ``NoAddress``. Unknown variables raise ``ValueError`` before anything is
    written."""
    return _enqueue_many(
        session,
        template_key=template_key,
        channel=channel,
        items=[EnqueueItem(*item) for item in items],
        due_at=due_at,
        expires_at=None,
        urgent=False,
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


def _load(session: TenantSession, message_id: int) -> Message:
    return session.exec(select(Message).where(Message.id == message_id)).one()


def _existing(session: TenantSession, dedupe_key: str) -> Message | None:
    return session.exec(select(Message).where(Message.dedupe_key == dedupe_key[:200])).first()


def _existing_ids(session: TenantSession, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the session tenant's messages under these (stored) keys."""
    if not keys:
        return {}
    rows = session.exec(
        select(Message.id, Message.dedupe_key).where(col(Message.dedupe_key).in_(list(keys)))
    ).all()
    return {key: int(mid) for mid, key in rows if mid is not None}


class _New(NamedTuple):
    """What differs between the messages of one ``_rows`` call."""

    dedupe_key: str
    patient_id: int | None
    recipient: _Recipient
    variables: dict[str, Any]
    source: str


def _rows(
    *,
    template_key: str,
    channel: Channel,
    messages: Sequence[_New],
    due_at: datetime | None,
    expires_at: datetime | None,
    urgent: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """The outbox rows of these messages, as the column values of a Core INSERT: the
    template's variables checked (``ValueError`` before anything is written), the
    patient's name added to them. One Message object gives the values they share
    (the model's defaults included); each row sets only its own."""
    spec = spec_of(template_key)
    shared = _row(
        Message(
            to_address="",
            channel=channel,
            category=spec.category,
            urgent=urgent,
            template_key=template_key,
            dedupe_key="",
            status=MessageStatus.SCHEDULED,
            due_at=due_at or now,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
    )
    rows: list[dict[str, Any]] = []
    for m in messages:
        unknown = set(m.variables) - spec.allowed
        if unknown:
            raise ValueError(f"{template_key}: unknown variables {sorted(unknown)}")
        variables = {"patient_name": m.recipient.name, **m.variables}
        rows.append(
            {
                **shared,
                "patient_id": m.patient_id,
                "to_address": m.recipient.address,
                "locale": m.recipient.locale,
                "recipient_tz": m.recipient.timezone,
                "variables": json.dumps(variables, ensure_ascii=False, default=str),
                "dedupe_key": m.dedupe_key[:200],
                "source": m.source[:80],
            }
        )
    return rows


def _row(msg: Message) -> dict[str, Any]:
    """``msg`` as the column values of a Core INSERT (enums as their values)."""
    row: dict[str, Any] = {}
    for column in Message.__table__.columns:  # type: ignore[attr-defined]
        if column.name in ("id", "tenant_id"):
            continue
        value = getattr(msg, column.name)
        row[column.name] = value.value if isinstance(value, enum.Enum) else value
    return row


def _insert_new(session: TenantSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """One multi-row INSERT of these outbox rows; returns ``stored key -> id`` for all
    of them. A key taken meanwhile by a concurrent transaction is skipped by the
    INSERT (ON CONFLICT DO NOTHING) and its row read back: that row is the message."""
    if not rows:
        return {}
    table = Message.__table__  # type: ignore[attr-defined]
    inserted = insert_rows(
        session,
        Message,
        # In key order: two calls with keys in common wait for each other's rows in
        # the same order on PostgreSQL, never in a deadlock.
        sorted(rows, key=lambda r: str(r["dedupe_key"])),
        returning=(table.c.id, table.c.dedupe_key),
        on_conflict_do_nothing=("tenant_id", "dedupe_key"),
    )
    ids = {str(r.dedupe_key): int(r.id) for r in inserted}
    raced = [str(r["dedupe_key"]) for r in rows if r["dedupe_key"] not in ids]
    if raced:
        ids.update(_existing_ids(session, raced))
    return ids


def _enqueue_many(
    session: TenantSession,
    *,
    template_key: str,
    channel: Channel,
    items: Sequence[EnqueueItem],
    due_at: datetime | None,
    expires_at: datetime | None,
    urgent: bool,
) -> dict[str, int]:
    """The one implementation of ``enqueue`` and ``enqueue_many``."""
    stored = {item.dedupe_key: item.dedupe_key[:200] for item in items}
    existing = _existing_ids(session, sorted(set(stored.values())))
    todo: dict[str, EnqueueItem] = {}  # stored key -> the first item under it
    for item in items:
        key = stored[item.dedupe_key]
        if key not in existing and key not in todo:
            todo[key] = item
    recipients = _recipients(session, [i.patient_id for i in todo.values()], channel)
    now = utcnow()
    new = _rows(
        template_key=template_key,
        channel=channel,
        messages=[
            _New(key, item.patient_id, recipients[item.patient_id], item.variables, item.source)
            for key, item in todo.items()
            if item.patient_id in recipients
        ],
        due_at=due_at,
        expires_at=expires_at,
        urgent=urgent,
        now=now,
    )
    ids = {**existing, **_insert_new(session, new)}
    return {key: ids[s] for key, s in stored.items() if s in ids}


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
    key = dedupe_key[:200]
    rows = _rows(
        template_key=template_key,
        channel=channel,
        messages=[_New(key, patient_id, recipient, variables, source)],
        due_at=due_at,
        expires_at=expires_at,
        urgent=urgent,
        now=utcnow(),
    )
    return _load(session, _insert_new(session, rows)[key])


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
