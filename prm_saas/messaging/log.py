"""The delivery log for admins (filter, page, retry) and the patient's inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select, update

from prm_saas.accounts.authz import Permission, Principal, require_patient, require_staff
from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record
from prm_saas.messaging.models import InboxItem, Message, MessageStatus
from tenants.db import TenantSession
from tenants.errors import NotFound
from tenants.lookup import get_or_404
from tenants.types import utcnow

PAGE_SIZE = 50


@dataclass(frozen=True)
class LogRow:
    """One message in the delivery log."""

    id: int
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None
    patient_name: str
    to_address: str
    channel: str
    category: str
    template_key: str
    status: str
    delivery_status: str
    attempts: int
    reason: str  # error or suppression reason
    subject: str


@dataclass(frozen=True)
class LogPage:
    """A filtered page of the log, newest first, and the total matching."""

    rows: list[LogRow]
    total: int


def list_messages(
    *,
    session: TenantSession,
    actor: Principal,
    status: str = "",
    channel: str = "",
    query: str = "",
    page: int = 0,
) -> LogPage:
    """The tenant's messages, filtered by status, channel and recipient/template text."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    conds = []
    if status:
        conds.append(col(Message.status) == status)
    if channel:
        conds.append(col(Message.channel) == channel)
    if query.strip():
        like = (
            "%" + query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        conds.append(
            col(Message.to_address).ilike(like, escape="\\")
            | col(Message.template_key).ilike(like, escape="\\")
        )
    total = session.exec(select(func.count()).select_from(Message).where(*conds)).one()
    page = max(0, min(page, 10_000))
    rows = session.exec(
        select(Message, Patient.name)
        .join(Patient, col(Patient.id) == col(Message.patient_id), isouter=True)
        .where(*conds)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .offset(page * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return LogPage(
        rows=[
            LogRow(
                id=m.id or 0,
                created_at=m.created_at,
                due_at=m.due_at,
                sent_at=m.sent_at,
                patient_name=name or "",
                to_address=m.to_address,
                channel=str(m.channel),
                category=str(m.category),
                template_key=m.template_key,
                status=str(m.status),
                delivery_status=m.delivery_status,
                attempts=m.attempts,
                reason=m.error or m.suppressed_reason,
                subject=m.subject,
            )
            for m, name in rows
        ],
        total=total,
    )


def retry_message(
    *, session: TenantSession, actor: Principal, message_id: int, ip: str = ""
) -> None:
    """Send a failed message again (from now, with fresh attempts)."""
    require_staff(session, actor, Permission.SETTINGS_MANAGE)
    msg = get_or_404(session, Message, message_id)
    if msg.status != MessageStatus.FAILED:
        raise NotFound()
    now = utcnow()
    session.exec(
        update(Message)
        .where(col(Message.id) == msg.id, col(Message.status) == MessageStatus.FAILED)
        .values(status=MessageStatus.SCHEDULED, due_at=now, attempts=0, error="", updated_at=now)
    )
    record(
        session,
        actor=actor,
        action="messaging.retried",
        target_type="message",
        target_id=msg.id,
        ip=ip,
    )


# --- the patient's inbox -------------------------------------------------------------------


@dataclass(frozen=True)
class InboxEntry:
    """One inbox message."""

    id: int
    title: str
    body: str
    created_at: datetime
    read: bool


def my_inbox(*, session: TenantSession, actor: Principal, limit: int = 100) -> list[InboxEntry]:
    """The signed-in patient's inbox, newest first."""
    require_patient(session, actor)
    rows = session.exec(
        select(InboxItem)
        .where(InboxItem.patient_id == actor.id)
        .order_by(col(InboxItem.created_at).desc(), col(InboxItem.id).desc())
        .limit(limit)
    ).all()
    return [
        InboxEntry(
            id=r.id or 0,
            title=r.title,
            body=r.body,
            created_at=r.created_at,
            read=r.read_at is not None,
        )
        for r in rows
    ]


def unread_count(*, session: TenantSession, actor: Principal) -> int:
    """How many inbox messages the patient has not opened (the badge)."""
    require_patient(session, actor)
    return session.exec(
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.patient_id == actor.id, col(InboxItem.read_at).is_(None))
    ).one()


def mark_read(*, session: TenantSession, actor: Principal, item_id: int | None = None) -> int:
    """Mark one inbox message (or, with no id, all of them) read; returns how many."""
    require_patient(session, actor)
    stmt = update(InboxItem).where(
        col(InboxItem.patient_id) == actor.id, col(InboxItem.read_at).is_(None)
    )
    if item_id is not None:
        item = get_or_404(session, InboxItem, item_id)
        if item.patient_id != actor.id:
            raise NotFound()
        stmt = stmt.where(col(InboxItem.id) == item.id)
    return int(session.exec(stmt.values(read_at=utcnow())).rowcount or 0)
