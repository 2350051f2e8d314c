"""The automation engine: enrolling patients and walking them through the steps.

- ``enroll`` inserts one enrollment under the unique (automation, patient,
  occurrence) key inside a savepoint: a second insert of the same occurrence
  (a hook firing twice, two scans at once) meets the key and enrolls nobody.
- ``advance_due`` takes the tenant's due active enrollments with row locks
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite), walks
  each from its ``step_index`` until a wait or the end, and moves it with a
  conditional UPDATE on its old position. A message step is enqueued under
  ``automation:<id>:v<version>:<step>:<enrollment>``, so even a step walked
  twice records one message.
- Consent: before a message step the engine asks the messaging engine's own
  rule (``preferences.may_send`` for a marketing message): a patient who opted
  out of the channel (or blocked it, or has no address on it, or whose account
  is disabled) *exits* the journey there (``exit_reason`` says why) instead of
  waiting on for messages that would all be suppressed. A channel the clinic
  switched off is not the patient's choice: the message is recorded (and
  suppressed by the delivery) and the journey goes on.
- An inactive automation enrolls nobody and its enrollments are held where
  they are (not advanced) until it is switched on again.
- ``scan_daily`` enrolls the calendar triggers (birthday, points about to
  expire, no visit for N days) for the tenant's local today; each occurrence
  key names the day, the year or the last visit, so repeated scans (hourly)
  enroll nobody twice.
"""

from __future__ import annotations

import calendar
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select, update

from prm_saas.accounts.models import AccountStatus, Patient
from prm_saas.audiences import expr as tag_expr
from prm_saas.automations.models import (
    Automation,
    AutomationEnrollment,
    AutomationVersion,
    EnrollmentStatus,
    StepKind,
    Trigger,
)
from prm_saas.automations.steps import tenant_tag_ids
from prm_saas.booking.models import Booking, BookingStatus, Slot
from prm_saas.booking.schedule import local_today, tenant_zone, write_lock
from prm_saas.membership.models import PointsLot
from prm_saas.messaging.content import content_key
from prm_saas.messaging.models import Category, Channel
from prm_saas.messaging.outbox import NoAddress, enqueue
from prm_saas.messaging.preferences import may_send, messaging_settings
from prm_saas.tags.conditions import compile_conditions, context
from tenants.db import TenantSession

log = logging.getLogger(__name__)

ADVANCE_BATCH = 200
VISITED = (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)


def trigger_params(automation: Automation) -> dict[str, Any]:
    """The automation's trigger parameters."""
    value = json.loads(automation.trigger_params or "{}")
    return value if isinstance(value, dict) else {}


def version_steps(session: TenantSession, automation_id: int, version: int) -> list[dict[str, Any]]:
    """The steps of one version of an automation."""
    row = session.exec(
        select(AutomationVersion).where(
            col(AutomationVersion.automation_id) == automation_id,
            col(AutomationVersion.version) == version,
        )
    ).first()
    steps = json.loads(row.steps) if row is not None else []
    return steps if isinstance(steps, list) else []


def message_dedupe_key(automation_id: int, version: int, step: int, enrollment_id: int) -> str:
    """The outbox key of one message step of one enrollment."""
    return f"automation:{automation_id}:v{version}:{step}:{enrollment_id}"


def message_source(automation_id: int, step: int) -> str:
    """The outbox source of a message step (tracking reads it)."""
    return f"automation:{automation_id}:{step}"


# --- enrolling ---------------------------------------------------------------------------


def enroll(
    session: TenantSession,
    *,
    automation: Automation,
    patient_id: int,
    occurrence: str,
    now: datetime,
    start_at: datetime | None = None,
) -> bool:
    """Enroll the patient for this occurrence (once); returns whether it was new."""
    if not automation.active or automation.id is None:
        return False
    row = AutomationEnrollment(
        automation_id=automation.id,
        version=automation.version,
        patient_id=patient_id,
        occurrence=occurrence[:80],
        status=EnrollmentStatus.ACTIVE,
        step_index=0,
        next_at=start_at or now,
        entered_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False  # enrolled already for this occurrence
    return True


def active_automations(session: TenantSession, *triggers: Trigger) -> list[Automation]:
    """The tenant's active automations with one of these triggers."""
    return list(
        session.exec(
            select(Automation)
            .where(col(Automation.active).is_(True), col(Automation.trigger).in_(triggers))
            .order_by(col(Automation.id))
        ).all()
    )


def on_trigger(
    session: TenantSession, trigger: Trigger, patient_id: int, now: datetime, **ctx: Any
) -> int:
    """Enroll the patient in every active automation of an event trigger; returns
    how many enrollments were made. Context: ``tag_id`` and ``event_id`` (the
    TagEvent) for a tag added, ``booking_id`` for a completed booking."""
    made = 0
    if trigger == Trigger.TAG_ADDED:
        tag_id = int(ctx["tag_id"])
        occurrence = f"tag_event:{int(ctx['event_id'])}"
        for a in active_automations(session, Trigger.TAG_ADDED):
            if trigger_params(a).get("tag_id") == tag_id:
                made += enroll(
                    session, automation=a, patient_id=patient_id, occurrence=occurrence, now=now
                )
    elif trigger == Trigger.PATIENT_JOINED:
        for a in active_automations(session, Trigger.PATIENT_JOINED):
            made += enroll(
                session, automation=a, patient_id=patient_id, occurrence="joined", now=now
            )
    elif trigger == Trigger.BOOKING_COMPLETED:
        occurrence = f"booking:{int(ctx['booking_id'])}"
        for a in active_automations(session, Trigger.BOOKING_COMPLETED, Trigger.DAYS_AFTER_CHECKUP):
            start = now
            if a.trigger == Trigger.DAYS_AFTER_CHECKUP:
                start = now + timedelta(days=int(trigger_params(a).get("days", 0)))
            made += enroll(
                session,
                automation=a,
                patient_id=patient_id,
                occurrence=occurrence,
                now=now,
                start_at=start,
            )
    else:
        raise ValueError(f"{trigger} is a calendar trigger (scan_daily), not an event")
    return made


# --- the daily scans ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    """Enrollments made by one daily scan (a repeat the same day makes none)."""

    birthday: int
    points_expiring: int
    no_visit: int

    def as_dict(self) -> dict[str, int]:
        """For the task's log line."""
        return asdict(self)


def _midnight(day: date, session: TenantSession) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tenant_zone(session))


def _birthday_patients(session: TenantSession, today: date) -> list[int]:
    days = [today.day]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append(29)
    return [
        int(p or 0)
        for p in session.exec(
            select(Patient.id)
            .where(
                col(Patient.birth_date).is_not(None),
                sa.extract("month", col(Patient.birth_date)) == today.month,
                sa.extract("day", col(Patient.birth_date)).in_(days),
                col(Patient.status) == AccountStatus.ACTIVE,
            )
            .order_by(col(Patient.id))
        ).all()
    ]


def _expiring(
    session: TenantSession, now: datetime, today: date, days_before: int
) -> list[tuple[int, date]]:
    """(patient, last day of their first expiring points) within ``days_before`` days."""
    tz = tenant_zone(session)
    until = _midnight(today + timedelta(days=days_before + 1), session)
    rows = session.exec(
        select(PointsLot.patient_id, func.min(PointsLot.expires_at))
        .where(
            col(PointsLot.remaining) > 0,
            col(PointsLot.expires_at) > now,
            col(PointsLot.expires_at) <= until,
        )
        .group_by(col(PointsLot.patient_id))
        .order_by(col(PointsLot.patient_id))
    ).all()
    out: list[tuple[int, date]] = []
    for pid, raw_at in rows:
        # SQLite hands aggregate timestamps back naive or as text; they are UTC
        at = raw_at if isinstance(raw_at, datetime) else datetime.fromisoformat(str(raw_at))
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        out.append((int(pid), (at - timedelta(microseconds=1)).astimezone(tz).date()))
    return out


def _lapsed(session: TenantSession, today: date, days: int) -> list[tuple[int, date]]:
    """(patient, last visit day) of patients whose last visit is ``days`` or more days
    ago and who have no booking coming up. Never visited: not lapsed."""
    last = func.max(col(Slot.day))
    upcoming = (
        select(Booking.patient_id)
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .where(col(Booking.status) == BookingStatus.CONFIRMED, col(Slot.day) >= today)
    )
    rows = session.exec(
        select(Booking.patient_id, last)
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .where(
            col(Booking.status).in_(VISITED),
            col(Slot.day) <= today,
            col(Booking.patient_id).not_in(upcoming),
        )
        .group_by(col(Booking.patient_id))
        .having(last <= today - timedelta(days=days))
        .order_by(col(Booking.patient_id))
    ).all()
    return [(int(pid), day) for pid, day in rows]


def scan_daily(session: TenantSession, *, now: datetime) -> ScanResult:
    """Enroll the calendar triggers of the tenant's local today."""
    today = local_today(now, tenant_zone(session))
    counts = {Trigger.BIRTHDAY: 0, Trigger.POINTS_EXPIRING: 0, Trigger.NO_VISIT: 0}
    autos = active_automations(session, *counts)
    for a in autos:
        params = trigger_params(a)
        if a.trigger == Trigger.BIRTHDAY:
            pairs = [(pid, f"birthday:{today.year}") for pid in _birthday_patients(session, today)]
        elif a.trigger == Trigger.POINTS_EXPIRING:
            pairs = [
                (pid, f"expiring:{day.isoformat()}")
                for pid, day in _expiring(session, now, today, int(params.get("days_before", 0)))
            ]
        else:
            pairs = [
                (pid, f"no_visit:{day.isoformat()}")
                for pid, day in _lapsed(session, today, int(params.get("days", 365)))
            ]
        for pid, occurrence in pairs:
            counts[a.trigger] += enroll(
                session, automation=a, patient_id=pid, occurrence=occurrence, now=now
            )
    return ScanResult(
        birthday=counts[Trigger.BIRTHDAY],
        points_expiring=counts[Trigger.POINTS_EXPIRING],
        no_visit=counts[Trigger.NO_VISIT],
    )


# --- advancing -----------------------------------------------------------------------------


@dataclass
class AdvanceResult:
    """What one pass did."""

    advanced: int = 0
    messages: int = 0
    completed: int = 0
    exited: int = 0

    def as_dict(self) -> dict[str, int]:
        """For the task's log line."""
        return asdict(self)


class _Moved(Exception):
    """The enrollment moved under us (it was advanced elsewhere): undo this one."""


def branch_matches(
    session: TenantSession, step: dict[str, Any], patient_id: int, now: datetime
) -> bool:
    """Whether the patient matches a branch step's tag expression and conditions now."""
    clauses: list[Any] = []
    text = str(step.get("expr") or "")
    if text:
        clauses.append(tag_expr.compile_sql(tag_expr.parse(text), tenant_tag_ids(session)))
    conditions = step.get("conditions") or []
    if conditions:
        clauses.append(compile_conditions(conditions, context(session, now)))
    hit = session.exec(select(Patient.id).where(col(Patient.id) == patient_id, *clauses)).first()
    return hit is not None


def _send_block(session: TenantSession, patient_id: int, channel: Channel, settings: Any) -> str:
    """Why a marketing message to this patient on this channel would not go out, or ""."""
    patient = session.exec(select(Patient).where(col(Patient.id) == patient_id)).first()
    if patient is None or patient.status != AccountStatus.ACTIVE:
        return "inactive"
    return may_send(
        session,
        patient_id=patient_id,
        channel=channel,
        category=Category.MARKETING,
        settings=settings,
    )


def _walk(
    session: TenantSession,
    e: AutomationEnrollment,
    steps: list[dict[str, Any]],
    now: datetime,
    result: AdvanceResult,
    settings: Any,
) -> dict[str, Any]:
    """Walk one enrollment from its step until a wait or the end; the new values."""
    i = e.step_index
    eid = int(e.id or 0)
    while i < len(steps):
        step = steps[i]
        kind = step.get("type")
        if kind == StepKind.WAIT:
            delay = timedelta(days=int(step.get("days", 0)), hours=int(step.get("hours", 0)))
            return {"step_index": i + 1, "next_at": now + delay}
        if kind == StepKind.MESSAGE:
            channel = Channel(step["channel"])
            reason = _send_block(session, e.patient_id, channel, settings)
            if reason == "channel_disabled":
                # the clinic's switch, not the patient's wish: the engine records the
                # message as suppressed (visible in the delivery log) and the journey
                # goes on, as it will once the channel is switched on
                reason = ""
            if not reason:
                try:
                    enqueue(
                        session,
                        template_key=content_key(int(step["content_id"])),
                        channel=channel,
                        patient_id=e.patient_id,
                        variables={"link": str(step.get("link") or "")},
                        dedupe_key=message_dedupe_key(e.automation_id, e.version, i, eid),
                        source=message_source(e.automation_id, i),
                        due_at=now,
                    )
                    result.messages += 1
                except NoAddress:
                    reason = "no_address"
            if reason:
                return _finish(EnrollmentStatus.EXITED, i, now, reason)
        elif kind == StepKind.BRANCH:
            try:
                matched = branch_matches(session, step, e.patient_id, now)
            except tag_expr.ExprError:
                return _finish(EnrollmentStatus.EXITED, i, now, "branch_invalid")
            go_on = matched == (step.get("when_match", "continue") == "continue")
            if not go_on:
                return _finish(EnrollmentStatus.EXITED, i, now, "branch")
        i += 1
    return _finish(EnrollmentStatus.COMPLETED, len(steps), now, "")


def _finish(status: EnrollmentStatus, step: int, now: datetime, reason: str) -> dict[str, Any]:
    return {"status": status, "step_index": step, "exit_reason": reason, "finished_at": now}


def advance_due(
    session: TenantSession, *, now: datetime, limit: int = ADVANCE_BATCH
) -> AdvanceResult:
    """Advance up to ``limit`` due enrollments of the session's tenant (one
    transaction; the caller commits). Enrollments locked by another pass are
    skipped, and each is moved by a conditional UPDATE on its old position, so two
    passes at once never walk a step twice."""
    write_lock(session)
    active_ids = select(Automation.id).where(col(Automation.active).is_(True))
    due = list(
        session.exec(
            select(AutomationEnrollment)
            .where(
                col(AutomationEnrollment.status) == EnrollmentStatus.ACTIVE,
                col(AutomationEnrollment.next_at) <= now,
                col(AutomationEnrollment.automation_id).in_(active_ids),
            )
            .order_by(col(AutomationEnrollment.next_at), col(AutomationEnrollment.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )
    result = AdvanceResult()
    if not due:
        return result
    settings = messaging_settings(session)
    cache: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for e in due:
        key = (e.automation_id, e.version)
        if key not in cache:
            cache[key] = version_steps(session, *key)
        try:
            with session.begin_nested():
                values = _walk(session, e, cache[key], now, result, settings)
                moved = session.exec(
                    update(AutomationEnrollment)
                    .where(
                        col(AutomationEnrollment.id) == e.id,
                        col(AutomationEnrollment.status) == EnrollmentStatus.ACTIVE,
                        col(AutomationEnrollment.step_index) == e.step_index,
                        col(AutomationEnrollment.next_at) == e.next_at,
                    )
                    .values(updated_at=now, **values)
                    .execution_options(synchronize_session=False)
                )
                if int(getattr(moved, "rowcount", 0) or 0) != 1:
                    raise _Moved()
        except _Moved:
            continue
        except Exception:
            # one broken enrollment must not stop the tenant's tick every minute
            log.exception("automation enrollment %s failed; it exits", e.id)
            values = _finish(EnrollmentStatus.EXITED, e.step_index, now, "error")
            session.exec(
                update(AutomationEnrollment)
                .where(
                    col(AutomationEnrollment.id) == e.id,
                    col(AutomationEnrollment.status) == EnrollmentStatus.ACTIVE,
                )
                .values(updated_at=now, **values)
                .execution_options(synchronize_session=False)
            )
        result.advanced += 1
        if values.get("status") == EnrollmentStatus.COMPLETED:
            result.completed += 1
        elif values.get("status") == EnrollmentStatus.EXITED:
            result.exited += 1
    return result
