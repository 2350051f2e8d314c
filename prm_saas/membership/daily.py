"""The membership day of one tenant, run by the Celery job (prm_saas.membership.tasks).

Steps, each in its own transaction so one failing step does not undo the others
(and each safe to run again):

1. expire due lots (``points.expire_due``: one entry per lot, key
   ``expire:lot:<id>``);
2. birthday points for card holders whose birthday is the tenant's local today
   (29 February birthdays on 28 February in other years), by the BIRTHDAY rule,
   key ``birthday:<patient>:<year>``;
3. level recalculation of every card not yet checked during the local day;
4. the pre-expiry notice (template ``points.expiring``): patients with points
   whose last day is within the notice days hear once about the first such day
   (dedupe key ``points:expiring:<patient>:<day>``).

Every step is keyed or conditional, so running the job twice in a day (beat
firing twice, a redelivered task, the hourly schedule) changes nothing the
second time. The tenant's day starts at its local midnight, which is when lots
expire, so the job runs hourly and each tenant's day is handled soon after it
begins.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy import func, or_
from sqlmodel import col, select

from prm_saas.accounts.models import AccountStatus, Patient
from prm_saas.booking.schedule import local_today, pk, tenant_zone
from prm_saas.membership import cards, points
from prm_saas.membership.messages import channel_for, expiring_key
from prm_saas.membership.models import (
    MemberCard,
    PointsAccount,
    PointsEntry,
    PointsLot,
    RuleKind,
)
from prm_saas.messaging.models import Message
from prm_saas.messaging.outbox import NoAddress, enqueue
from tenants.db import TenantSession, tenant_session


@dataclass(frozen=True)
class DayResult:
    """What one run did (a repeat run the same day reports zeros)."""

    expired: int
    birthdays: int
    levels_checked: int
    notices: int

    def as_dict(self) -> dict[str, int]:
        """For the task's log line."""
        return asdict(self)


def _local_midnight(day: date, session: TenantSession) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tenant_zone(session))


def award_birthdays(*, session: TenantSession, now: datetime) -> int:
    """Birthday points for card holders born on the tenant's local today. Returns
    the entries made (a patient already awarded this year is skipped)."""
    today = local_today(now, tenant_zone(session))
    days = [today.day]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append(29)
    rows = session.exec(
        select(Patient.id)
        .join(MemberCard, col(MemberCard.patient_id) == col(Patient.id))
        .where(
            col(Patient.birth_date).is_not(None),
            sa.extract("month", col(Patient.birth_date)) == today.month,
            sa.extract("day", col(Patient.birth_date)).in_(days),
            col(Patient.status) == AccountStatus.ACTIVE,
        )
        .order_by(col(Patient.id))
    ).all()
    made = 0
    for pid in rows:
        assert pid is not None
        key = f"birthday:{pid}:{today.year}"
        if session.exec(
            select(PointsEntry.id).where(col(PointsEntry.idempotency_key) == key)
        ).first():
            continue  # awarded already this year
        entry = points.award(
            session,
            patient_id=pid,
            rule=RuleKind.BIRTHDAY,
            source=points.Source("birthday", str(today.year)),
            idempotency_key=key,
            now=now,
        )
        if entry is None:
            return made  # the tenant has no active birthday rule
        made += 1
    return made


def recalc_levels(*, session: TenantSession, now: datetime) -> int:
    """Recalculate the level of every card not yet checked since the local day
    began. Returns how many were checked."""
    start = _local_midnight(local_today(now, tenant_zone(session)), session)
    due = session.exec(
        select(MemberCard.patient_id)
        .where(
            or_(
                col(MemberCard.level_checked_at).is_(None),
                col(MemberCard.level_checked_at) < start,
            )
        )
        .order_by(col(MemberCard.id))
    ).all()
    for pid in due:
        cards.recalc_level(session, patient_id=pid, now=now)
    return len(due)


def send_expiry_notices(*, session: TenantSession, now: datetime) -> int:
    """Tell patients whose points run out within the notice days, once per patient
    per expiry day. Returns the notices recorded."""
    conf = points.settings_of(session)
    if conf.notice_days <= 0:
        return 0
    tz = tenant_zone(session)
    today = local_today(now, tz)
    until = _local_midnight(today + timedelta(days=conf.notice_days + 1), session)
    first = session.exec(
        select(PointsLot.patient_id, func.min(PointsLot.expires_at))
        .where(
            col(PointsLot.remaining) > 0,
            col(PointsLot.expires_at) > now,
            col(PointsLot.expires_at) <= until,
        )
        .group_by(col(PointsLot.patient_id))
        .order_by(col(PointsLot.patient_id))
    ).all()
    sent = 0
    for pid, raw_at in first:
        expires_at = _aware(raw_at)
        last_day = (expires_at - timedelta(microseconds=1)).astimezone(tz).date()
        key = expiring_key(pid, last_day)
        if session.exec(select(Message.id).where(Message.dedupe_key == key)).first():
            continue  # told already (the job ran before today)
        patient = session.exec(select(Patient).where(col(Patient.id) == pid)).one()
        if patient.status != AccountStatus.ACTIVE:
            continue
        day_start = _local_midnight(last_day, session)
        amount = session.exec(
            select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
                col(PointsLot.patient_id) == pid,
                col(PointsLot.remaining) > 0,
                col(PointsLot.expires_at) > day_start,
                col(PointsLot.expires_at) <= day_start + timedelta(days=1),
            )
        ).one()
        balance = session.exec(
            select(PointsAccount.balance).where(col(PointsAccount.patient_id) == pid)
        ).first()
        try:
            enqueue(
                session,
                template_key="points.expiring",
                channel=channel_for(session, patient),
                patient_id=pk(patient),
                variables={
                    "points": str(int(amount)),
                    "expires_on": last_day.isoformat(),
                    "balance": str(int(balance or 0)),
                },
                dedupe_key=key,
                source=f"points:expiring:{last_day.isoformat()}",
            )
        except NoAddress:
            continue
        sent += 1
    return sent


def _aware(at: object) -> datetime:
    """SQLite hands aggregate timestamps back naive or as text (they are UTC)."""
    value = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def run_day(*, tenant_id: int, now: datetime) -> DayResult:
    """The membership day of ``tenant_id`` at ``now``: one transaction per step."""
    with tenant_session(tenant_id) as session:
        expired = points.expire_due(session, now=now)
    with tenant_session(tenant_id) as session:
        birthdays = award_birthdays(session=session, now=now)
    with tenant_session(tenant_id) as session:
        checked = recalc_levels(session=session, now=now)
    with tenant_session(tenant_id) as session:
        notices = send_expiry_notices(session=session, now=now)
    return DayResult(expired=expired, birthdays=birthdays, levels_checked=checked, notices=notices)
