"""A member's statement: balances by state (spendable, locked, expiring soon), the
ledger as labelled history lines, and levels as plain views.

Shared by the admin's member pages, the front desk's card lookup and the
patient's wallet, which each check their actor first and then read through
here. Reads only; every figure comes from the lots and the kept balance of
``prm_saas.membership.points`` in batched queries (one per figure, whatever the
number of patients on a page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from prm_saas.membership.models import (
    EntryKind,
    MemberCard,
    MembershipLevel,
    PointsAccount,
    PointsEntry,
    PointsLot,
    RuleKind,
)
from tenants.db import TenantSession

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class LevelView:
    """A level with its rule and benefits (and how many cards hold it, for admins)."""

    id: int
    name_zh: str
    name_en: str
    rank: int
    min_points_12m: int
    min_spent_fen_12m: int
    discount_percent: int
    multiplier_percent: int
    active: bool
    members: int = 0

    def name(self, locale: str | None) -> str:
        """The level's name in ``locale`` (zh when there is no English name)."""
        return self.name_en if locale == "en" and self.name_en else self.name_zh


def level_view(level: MembershipLevel, members: int = 0) -> LevelView:
    """A level row as a view."""
    return LevelView(
        id=int(level.id or 0),
        name_zh=level.name_zh,
        name_en=level.name_en,
        rank=level.rank,
        min_points_12m=level.min_points_12m,
        min_spent_fen_12m=level.min_spent_fen_12m,
        discount_percent=level.discount_percent,
        multiplier_percent=level.multiplier_percent,
        active=level.active,
        members=members,
    )


@dataclass(frozen=True)
class Balances:
    """A patient's points by state at one instant.

    ``spendable``: redeemable now. ``locked``: still in a purchase's return
    window; the first of them unlocks at ``unlocks_at`` (local day
    ``unlocks_on``). ``expiring``: points whose last usable local day is within
    the tenant's notice days from today; the first of them can be used until the end of local day
    ``expiring_last_day`` (they are gone at ``expiring_at``, the next midnight).
    """

    balance: int = 0
    spendable: int = 0
    locked: int = 0
    unlocks_at: datetime | None = None
    unlocks_on: date | None = None
    expiring: int = 0
    expiring_at: datetime | None = None
    expiring_last_day: date | None = None


def _sum_by_patient(
    session: TenantSession, ids: Sequence[int], *conds: ColumnElement[bool]
) -> dict[int, int]:
    rows = session.exec(
        select(PointsLot.patient_id, func.sum(PointsLot.remaining))
        .where(col(PointsLot.patient_id).in_(ids), col(PointsLot.remaining) > 0, *conds)
        .group_by(col(PointsLot.patient_id))
    ).all()
    return {int(pid): int(n or 0) for pid, n in rows}


def _min_by_patient(
    session: TenantSession, ids: Sequence[int], column: Any, *conds: ColumnElement[bool]
) -> dict[int, object]:
    rows = session.exec(
        select(PointsLot.patient_id, func.min(column))
        .where(col(PointsLot.patient_id).in_(ids), col(PointsLot.remaining) > 0, *conds)
        .group_by(col(PointsLot.patient_id))
    ).all()
    return {int(pid): at for pid, at in rows if at is not None}


def _aware(at: datetime | None) -> datetime | None:
    """SQLite hands aggregate timestamps back naive (they are UTC)."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=ZoneInfo("UTC"))


def _as_dt(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return _aware(value)
    return _aware(datetime.fromisoformat(str(value)))


def balances_of(
    session: TenantSession,
    patient_ids: Sequence[int],
    *,
    now: datetime,
    notice_days: int,
    tz: ZoneInfo,
) -> dict[int, Balances]:
    """Balances of several patients of the session's tenant at ``now``."""
    ids = sorted({int(i) for i in patient_ids})
    if not ids:
        return {}
    kept = {
        int(pid): int(bal)
        for pid, bal in session.exec(
            select(PointsAccount.patient_id, PointsAccount.balance).where(
                col(PointsAccount.patient_id).in_(ids)
            )
        ).all()
    }
    live = col(PointsLot.expires_at) > now
    ready = col(PointsLot.available_at) <= now
    waiting = col(PointsLot.available_at) > now
    # Within the notice days counted in local days, as the pre-expiry notice counts
    # them: the last usable day is at most today + notice_days.
    today = now.astimezone(tz).date()
    horizon = datetime.combine(today + timedelta(days=max(0, notice_days) + 1), time(0), tz)
    soon = col(PointsLot.expires_at) <= horizon
    spend = _sum_by_patient(session, ids, live, ready)
    locked = _sum_by_patient(session, ids, live, waiting)
    unlock = _min_by_patient(session, ids, PointsLot.available_at, live, waiting)
    expiring = _sum_by_patient(session, ids, live, soon)
    expire_at = _min_by_patient(session, ids, PointsLot.expires_at, live, soon)
    out: dict[int, Balances] = {}
    for pid in ids:
        bal = kept.get(pid, 0)
        u_at = _as_dt(unlock.get(pid))
        e_at = _as_dt(expire_at.get(pid))
        out[pid] = Balances(
            balance=bal,
            spendable=max(0, min(spend.get(pid, 0), bal)),
            locked=locked.get(pid, 0) if bal > 0 else 0,
            unlocks_at=u_at,
            unlocks_on=u_at.astimezone(tz).date() if u_at else None,
            expiring=expiring.get(pid, 0) if bal > 0 else 0,
            expiring_at=e_at,
            expiring_last_day=(e_at - timedelta(microseconds=1)).astimezone(tz).date()
            if e_at
            else None,
        )
    return out


@dataclass(frozen=True)
class HistoryLine:
    """One ledger entry for a screen. ``kind_key`` and ``reason_key`` are message
    keys (prm_saas.i18n_membership) to show in the reader's language; ``note`` is
    free text a person wrote (an adjustment's reason) or the entry's own reason."""

    id: int
    at: datetime
    kind: str
    points: int
    kind_key: str
    reason_key: str
    note: str
    source_type: str
    source_id: str


_RULE_REASONS = {f"rule:{k.value}": f"points.reason.{k.value}" for k in RuleKind}


def reason_key(entry: PointsEntry) -> str:
    """The message key saying why an entry was made."""
    if entry.kind == EntryKind.EARN:
        if entry.reason in _RULE_REASONS:
            return _RULE_REASONS[entry.reason]
        if entry.source_type == "challenge":
            return "points.reason.challenge_completed"
        return "points.reason.earned"
    return {
        EntryKind.REDEEM: "points.reason.redeemed",
        EntryKind.EXPIRE: "points.reason.expired",
        EntryKind.ADJUST: "points.reason.adjusted",
        EntryKind.REVERSE: "points.reason.reversed",
    }.get(EntryKind(entry.kind), "points.reason.earned")


def history_line(entry: PointsEntry) -> HistoryLine:
    """A ledger entry as a history line."""
    free_text = entry.kind in (EntryKind.ADJUST, EntryKind.REDEEM) or (
        entry.kind == EntryKind.EARN and reason_key(entry) == "points.reason.earned"
    )
    return HistoryLine(
        id=int(entry.id or 0),
        at=entry.created_at,
        kind=str(entry.kind),
        points=entry.points,
        kind_key=f"points.kind.{entry.kind}",
        reason_key=reason_key(entry),
        note=entry.reason if free_text else "",
        source_type=entry.source_type,
        source_id=entry.source_id,
    )


def history_lines(
    session: TenantSession, patient_id: int, *, limit: int = HISTORY_LIMIT
) -> list[HistoryLine]:
    """The patient's newest ledger entries as history lines."""
    rows = session.exec(
        select(PointsEntry)
        .where(col(PointsEntry.patient_id) == patient_id)
        .order_by(col(PointsEntry.id).desc())
        .limit(max(1, min(int(limit), 500)))
    ).all()
    return [history_line(e) for e in rows]


def card_and_level(
    session: TenantSession, patient_id: int
) -> tuple[MemberCard | None, MembershipLevel | None]:
    """The patient's card and its level, if any."""
    card = session.exec(select(MemberCard).where(col(MemberCard.patient_id) == patient_id)).first()
    level = None
    if card is not None and card.level_id is not None:
        level = session.exec(
            select(MembershipLevel).where(col(MembershipLevel.id) == card.level_id)
        ).first()
    return card, level
