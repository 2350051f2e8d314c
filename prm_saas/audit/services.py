"""Writing and reading the audit log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlmodel import col, func, select

from prm_saas.accounts.authz import (
    Permission,
    Principal,
    require_operator,
    require_staff,
)
from prm_saas.audit.models import AuditEvent, PlatformAuditEvent
from tenants.db import TenantSession


def _fields(
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: object,
    ip: str,
    details: dict[str, Any] | None,
    actor_label: str | None,
) -> dict[str, Any]:
    return {
        "actor_kind": str(actor.kind) if actor else ("anonymous" if actor_label else "system"),
        "actor_id": actor.id if actor else None,
        "actor_label": (
            actor_label if actor_label is not None else (actor.label or actor.name) if actor else ""
        )[:254],
        "action": action,
        "target_type": target_type,
        "target_id": "" if target_id is None else str(target_id),
        "ip": ip[:64],
        "details": json.dumps(details or {}, ensure_ascii=False, default=str)[:4000],
    }


def record(
    session: TenantSession,
    *,
    actor: Principal | None,
    action: str,
    target_type: str = "",
    target_id: object = None,
    ip: str = "",
    details: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> None:
    """Append an event to the current tenant's audit log (in the caller's transaction)."""
    session.add(
        AuditEvent(**_fields(actor, action, target_type, target_id, ip, details, actor_label))
    )


def record_platform(
    session: TenantSession,
    *,
    actor: Principal | None,
    action: str,
    target_type: str = "",
    target_id: object = None,
    ip: str = "",
    details: dict[str, Any] | None = None,
    actor_label: str | None = None,
    subject_tenant_id: int | None = None,
) -> None:
    """Append an event to the platform's audit log."""
    session.add(
        PlatformAuditEvent(
            subject_tenant_id=subject_tenant_id,
            **_fields(actor, action, target_type, target_id, ip, details, actor_label),
        )
    )


@dataclass(frozen=True)
class AuditRow:
    """One line of an audit page."""

    id: int
    at: datetime
    actor_kind: str
    actor_label: str
    action: str
    target: str
    ip: str
    details: str


@dataclass(frozen=True)
class AuditPage:
    """A page of audit rows, newest first, and the total matching."""

    rows: list[AuditRow]
    total: int


PAGE_SIZE = 50
# Page numbers come from clients; past this the OFFSET would overflow the database's integers.
MAX_PAGE = 1_000_000


def _page(
    session: TenantSession,
    model: type[AuditEvent] | type[PlatformAuditEvent],
    action_prefix: str,
    page: int,
) -> AuditPage:
    q = select(model)
    count_q = select(func.count()).select_from(model)
    if action_prefix:
        # autoescape: "_" and "%" in the prefix are plain characters, not LIKE
        # wildcards ("staff.invite_" must not match "staff.invited").
        cond = col(model.action).startswith(action_prefix, autoescape=True)
        q, count_q = q.where(cond), count_q.where(cond)
    total = session.exec(count_q).one()
    page = min(max(page, 0), MAX_PAGE)
    rows = cast(
        "Sequence[AuditEvent | PlatformAuditEvent]",
        session.exec(
            q.order_by(col(model.at).desc(), col(model.id).desc())
            .offset(page * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all(),
    )
    return AuditPage(
        rows=[
            AuditRow(
                id=r.id or 0,
                at=r.at,
                actor_kind=r.actor_kind,
                actor_label=r.actor_label,
                action=r.action,
                target=f"{r.target_type}:{r.target_id}" if r.target_type else "",
                ip=r.ip,
                details=r.details,
            )
            for r in rows
        ],
        total=total,
    )


def list_tenant_audit(
    *, session: TenantSession, actor: Principal, action_prefix: str = "", page: int = 0
) -> AuditPage:
    """The tenant's audit log, for its admins."""
    require_staff(session, actor, Permission.AUDIT_READ)
    return _page(session, AuditEvent, action_prefix, page)


def list_platform_audit(
    *, session: TenantSession, actor: Principal, action_prefix: str = "", page: int = 0
) -> AuditPage:
    """The platform's audit log, for operators."""
    require_operator(actor)
    return _page(session, PlatformAuditEvent, action_prefix, page)
