"""Automation services for managers (``CAMPAIGNS_MANAGE``).

Saving new steps writes a new ``AutomationVersion`` (and new content rows for its
message steps) when they differ from the current one; running enrollments keep
walking their own version, so an edit never moves a patient to a step that means
something else, and a message already on its way keeps its wording. New
enrollments take the current version. Switching an automation off enrolls
nobody and holds its enrollments where they are until it is switched on again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record
from prm_saas.automations.builtin import BUILTINS, language
from prm_saas.automations.engine import trigger_params, version_steps
from prm_saas.automations.models import (
    Automation,
    AutomationEnrollment,
    AutomationVersion,
    EnrollmentStatus,
    StepKind,
    Trigger,
)
from prm_saas.automations.steps import MessageText, clean_steps, clean_trigger
from prm_saas.booking.schedule import pk
from prm_saas.messaging.content import get_content, save_content
from prm_saas.messaging.models import Message, MessageStatus
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import FieldErrors, NotFound
from tenants.lookup import get_or_404
from tenants.models import Tenant
from tenants.types import utcnow


@dataclass
class AutomationInput:
    """The editor's form, as the client sent it."""

    name: str
    trigger: str
    trigger_params: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AutomationDetail:
    """An automation with its current steps as the editor shows them (message
    steps with their wording)."""

    id: int
    name: str
    trigger: str
    trigger_params: dict[str, Any]
    active: bool
    builtin: str
    version: int
    steps: list[dict[str, Any]]


@dataclass(frozen=True)
class AutomationRow:
    """A line of the automations list."""

    id: int
    name: str
    trigger: str
    trigger_params: dict[str, Any]
    active: bool
    builtin: str
    version: int
    entered: int
    waiting: int
    completed: int
    exited: int
    sent: int


@dataclass(frozen=True)
class StepStats:
    """How patients went through one step of the current version."""

    index: int
    kind: str
    entered: int
    waiting: int
    sent: int
    exited: int


def _owner(automation_id: int) -> str:
    return f"automation:{automation_id}"


def _int_id(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise NotFound() from None


def _get(session: TenantSession, automation_id: object) -> Automation:
    return get_or_404(session, Automation, _int_id(automation_id))


def _clean(
    session: TenantSession, data: AutomationInput
) -> tuple[str, Trigger, dict[str, int], list[dict[str, Any] | MessageText]]:
    ck = Checker()
    name = ck.text("name", data.name, max_len=80)
    trigger, params = clean_trigger(session, ck, data.trigger, data.trigger_params)
    steps = clean_steps(session, ck, data.steps)
    ck.raise_if_any()
    assert trigger is not None
    return name, trigger, params, steps


def _editor_steps(session: TenantSession, stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored steps as the editor shows them: message steps with their wording."""
    out: list[dict[str, Any]] = []
    for step in stored:
        if step.get("type") == StepKind.MESSAGE:
            try:
                content = get_content(session, int(step["content_id"]))
                subject, body = content.subject, content.body
            except NotFound:
                subject = body = ""
            out.append(
                {
                    "type": StepKind.MESSAGE.value,
                    "channel": step["channel"],
                    "subject": subject,
                    "body": body,
                    "link": step.get("link", ""),
                    "content_id": step["content_id"],
                }
            )
        else:
            out.append(dict(step))
    return out


def _comparable(steps: list[dict[str, Any] | MessageText]) -> list[Any]:
    out: list[Any] = []
    for s in steps:
        if isinstance(s, MessageText):
            out.append(("message", str(s.channel), s.subject, s.body, s.link))
        elif s.get("type") == StepKind.MESSAGE:
            out.append(("message", str(s["channel"]), s["subject"], s["body"], s.get("link", "")))
        else:
            out.append(json.dumps(s, sort_keys=True, ensure_ascii=False))
    return out


def _write_version(
    session: TenantSession,
    automation: Automation,
    version: int,
    steps: list[dict[str, Any] | MessageText],
    now: datetime,
) -> None:
    stored: list[dict[str, Any]] = []
    for s in steps:
        if isinstance(s, MessageText):
            content = save_content(
                session,
                channel=s.channel,
                subject=s.subject,
                body=s.body,
                owner=_owner(pk(automation)),
            )
            stored.append(
                {
                    "type": StepKind.MESSAGE.value,
                    "channel": s.channel.value,
                    "content_id": pk(content),
                    "link": s.link,
                }
            )
        else:
            stored.append(s)
    session.add(
        AutomationVersion(
            automation_id=pk(automation),
            version=version,
            steps=json.dumps(stored, ensure_ascii=False),
            created_at=now,
        )
    )
    automation.version = version
    session.add(automation)
    session.flush()


def create_automation(
    *,
    session: TenantSession,
    actor: Principal | None,
    data: AutomationInput,
    active: bool = False,
    builtin: str | None = None,
    now: datetime | None = None,
) -> Automation:
    """A new automation (switched off unless ``active``)."""
    actor = require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    now = now or utcnow()
    name, trigger, params, steps = _clean(session, data)
    automation = Automation(
        name=name,
        trigger=trigger,
        trigger_params=json.dumps(params),
        active=bool(active),
        version=1,
        builtin=builtin,
        created_at=now,
        updated_at=now,
    )
    session.add(automation)
    session.flush()
    _write_version(session, automation, 1, steps, now)
    record(
        session,
        actor=actor,
        action="automation.create",
        target_type="automation",
        target_id=pk(automation),
        details={"trigger": trigger.value, "builtin": builtin or ""},
    )
    return automation


def update_automation(
    *,
    session: TenantSession,
    actor: Principal | None,
    automation_id: int,
    data: AutomationInput,
    now: datetime | None = None,
) -> Automation:
    """New name, trigger and/or steps. Changed steps become a new version that only
    new enrollments take; running ones finish the version they entered with."""
    actor = require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    now = now or utcnow()
    automation = _get(session, automation_id)
    name, trigger, params, steps = _clean(session, data)
    current = _editor_steps(session, version_steps(session, pk(automation), automation.version))
    changed = _comparable(steps) != _comparable(list(current))
    automation.name = name
    automation.trigger = trigger
    automation.trigger_params = json.dumps(params)
    automation.updated_at = now
    session.add(automation)
    session.flush()
    if changed:
        _write_version(session, automation, automation.version + 1, steps, now)
    record(
        session,
        actor=actor,
        action="automation.update",
        target_type="automation",
        target_id=pk(automation),
        details={"version": automation.version, "steps_changed": changed},
    )
    return automation


def set_active(
    *,
    session: TenantSession,
    actor: Principal | None,
    automation_id: int,
    active: bool,
    now: datetime | None = None,
) -> Automation:
    """Switch an automation on or off."""
    actor = require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    automation = _get(session, automation_id)
    automation.active = bool(active)
    automation.updated_at = now or utcnow()
    session.add(automation)
    session.flush()
    record(
        session,
        actor=actor,
        action="automation.activate" if active else "automation.deactivate",
        target_type="automation",
        target_id=pk(automation),
    )
    return automation


def get_automation(
    *, session: TenantSession, actor: Principal | None, automation_id: int
) -> AutomationDetail:
    """One automation of this tenant with its current steps."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    a = _get(session, automation_id)
    return AutomationDetail(
        id=pk(a),
        name=a.name,
        trigger=a.trigger,
        trigger_params=trigger_params(a),
        active=a.active,
        builtin=a.builtin or "",
        version=a.version,
        steps=_editor_steps(session, version_steps(session, pk(a), a.version)),
    )


def _sent_like(automation_id: int, version: int | None = None, step: int | None = None) -> str:
    parts = f"automation:{automation_id}:"
    if version is not None:
        parts += f"v{version}:"
        if step is not None:
            parts += f"{step}:"
    return parts + "%"


def _sent(session: TenantSession, pattern: str) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Message)
            .where(col(Message.dedupe_key).like(pattern), col(Message.status) == MessageStatus.SENT)
        ).one()
    )


def list_automations(*, session: TenantSession, actor: Principal | None) -> list[AutomationRow]:
    """The tenant's automations, newest first, with their enrollment counts."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    autos = session.exec(select(Automation).order_by(col(Automation.id).desc())).all()
    counts: dict[tuple[int, str], int] = {}
    for aid, status, n in session.exec(
        select(
            AutomationEnrollment.automation_id, AutomationEnrollment.status, func.count()
        ).group_by(col(AutomationEnrollment.automation_id), col(AutomationEnrollment.status))
    ).all():
        counts[(int(aid), str(status))] = int(n)
    rows: list[AutomationRow] = []
    for a in autos:
        aid = pk(a)
        by = {s.value: counts.get((aid, s.value), 0) for s in EnrollmentStatus}
        rows.append(
            AutomationRow(
                id=aid,
                name=a.name,
                trigger=a.trigger,
                trigger_params=trigger_params(a),
                active=a.active,
                builtin=a.builtin or "",
                version=a.version,
                entered=sum(by.values()),
                waiting=by[EnrollmentStatus.ACTIVE],
                completed=by[EnrollmentStatus.COMPLETED],
                exited=by[EnrollmentStatus.EXITED],
                sent=_sent(session, _sent_like(aid)),
            )
        )
    return rows


def automation_stats(
    *, session: TenantSession, actor: Principal | None, automation_id: int
) -> list[StepStats]:
    """Per step of the current version: patients who reached it, wait in it, were
    sent its message, left the journey at it."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    a = _get(session, automation_id)
    aid, version = pk(a), a.version
    steps = version_steps(session, aid, version)
    n = len(steps)
    entered = [0] * n
    waiting = [0] * n
    exited = [0] * n
    rows = session.exec(
        select(AutomationEnrollment.status, AutomationEnrollment.step_index, func.count())
        .where(
            col(AutomationEnrollment.automation_id) == aid,
            col(AutomationEnrollment.version) == version,
        )
        .group_by(col(AutomationEnrollment.status), col(AutomationEnrollment.step_index))
    ).all()
    for status, k, count in rows:
        k, count = int(k), int(count)
        if status == EnrollmentStatus.ACTIVE:
            # after a wait step k-1 the patient waits in it; at 0 before the first step
            at = k - 1 if k > 0 and steps[k - 1].get("type") == StepKind.WAIT else k
            at = min(at, n - 1)
            waiting[at] += count
        elif status == EnrollmentStatus.EXITED:
            at = min(k, n - 1)
            exited[at] += count
        else:
            at = n - 1
        for j in range(at + 1):
            entered[j] += count
    return [
        StepStats(
            index=i,
            kind=str(step.get("type")),
            entered=entered[i],
            waiting=waiting[i],
            sent=_sent(session, _sent_like(aid, version, i))
            if step.get("type") == StepKind.MESSAGE
            else 0,
            exited=exited[i],
        )
        for i, step in enumerate(steps)
    ]


# --- built-in journeys ------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltinRow:
    """A built-in journey and whether this tenant has it (and it is on)."""

    key: str
    name: str
    automation_id: int
    active: bool


def list_builtins(
    *, session: TenantSession, actor: Principal | None, locale: str = "zh-CN"
) -> list[BuiltinRow]:
    """The built-in journeys, with this tenant's automation for each if any."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    have = {
        a.builtin: a
        for a in session.exec(select(Automation).where(col(Automation.builtin).is_not(None)))
    }
    lang = language(locale)
    return [
        BuiltinRow(
            key=b.key,
            name=b.name[lang],
            automation_id=pk(have[b.key]) if b.key in have else 0,
            active=bool(have[b.key].active) if b.key in have else False,
        )
        for b in BUILTINS.values()
    ]


def enable_builtin(
    *, session: TenantSession, actor: Principal | None, key: str, now: datetime | None = None
) -> Automation:
    """Switch a built-in journey on: created with the default wording in the
    tenant's language the first time, switched back on afterwards (keeping the
    manager's edits)."""
    actor = require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    spec = BUILTINS.get(str(key))
    if spec is None:
        raise NotFound()
    existing = session.exec(select(Automation).where(col(Automation.builtin) == spec.key)).first()
    if existing is not None:
        return set_active(
            session=session, actor=actor, automation_id=pk(existing), active=True, now=now
        )
    tenant = session.get(Tenant, session.tenant_id)
    lang = language(str(tenant.default_locale) if tenant else "zh-CN")
    try:
        with session.begin_nested():
            return create_automation(
                session=session,
                actor=actor,
                data=AutomationInput(
                    name=spec.name[lang],
                    trigger=spec.trigger.value,
                    trigger_params=dict(spec.trigger_params),
                    steps=[dict(s) for s in spec.steps[lang]],
                ),
                active=True,
                builtin=spec.key,
                now=now,
            )
    except IntegrityError:
        # switched on at the same moment from another screen: that one is it
        made = session.exec(select(Automation).where(col(Automation.builtin) == spec.key)).one()
        return set_active(
            session=session, actor=actor, automation_id=pk(made), active=True, now=now
        )


@dataclass(frozen=True)
class EnrollmentView:
    """One patient on a journey, for the editor's list."""

    id: int
    patient_id: int
    patient_name: str
    version: int
    status: str
    step_index: int
    next_at: datetime
    exit_reason: str
    entered_at: datetime


def list_enrollments(
    *,
    session: TenantSession,
    actor: Principal | None,
    automation_id: int,
    status: str | None = None,
    limit: int = 50,
) -> list[EnrollmentView]:
    """The newest enrollments of an automation (optionally in one status)."""
    require_staff(session, actor, Permission.CAMPAIGNS_MANAGE)
    a = _get(session, automation_id)
    stmt = (
        select(AutomationEnrollment, Patient.name)
        .join(Patient, col(Patient.id) == col(AutomationEnrollment.patient_id))
        .where(col(AutomationEnrollment.automation_id) == pk(a))
    )
    if status is not None:
        if status not in {s.value for s in EnrollmentStatus}:
            raise FieldErrors.single("status", "field.choice_invalid")
        stmt = stmt.where(col(AutomationEnrollment.status) == status)
    limit = max(1, min(int(limit), 500))
    rows = session.exec(stmt.order_by(col(AutomationEnrollment.id).desc()).limit(limit)).all()
    return [
        EnrollmentView(
            id=pk(e),
            patient_id=e.patient_id,
            patient_name=name,
            version=e.version,
            status=str(e.status),
            step_index=e.step_index,
            next_at=e.next_at,
            exit_reason=e.exit_reason,
            entered_at=e.entered_at,
        )
        for e, name in rows
    ]
