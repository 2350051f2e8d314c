"""The points ledger: earn, redeem, expire, adjust, reverse (积分).

Every change of a patient's points happens in one transaction that first takes
that patient's ``PointsAccount`` row lock (``SELECT ... FOR UPDATE``; on SQLite
the transaction opens with BEGIN IMMEDIATE), then writes one append-only
``PointsEntry``, moves lots, and updates the balance beside the ledger. So
concurrent redemptions are serialised per patient and never overspend, and the
idempotency key (unique per tenant) is looked up after the lock: a repeated key
returns the first entry. A key raced across patients loses on the unique index
inside a savepoint and returns the winner too.

Invariants (checked by ``check_account`` and the property test):
- ``account.balance == sum(entry.points)`` for the patient;
- ``balance >= 0`` implies ``balance == sum(lot.remaining)``; a negative balance
  (a clawback under the ``allow_negative`` policy) has every lot empty, and later
  earnings pay that debt first.

``earn``, ``award``, ``reverse`` and ``expire_due`` are internal hooks (called by
orders, bookings, challenges and the daily job), not page handlers; ``redeem``,
``adjust``, ``balance``, ``spendable`` and ``history`` check their actor.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import Patient, PrincipalKind
from prm_saas.audit.services import record
from prm_saas.booking.schedule import tenant_zone, write_lock
from prm_saas.membership.models import (
    EntryKind,
    MemberCard,
    MembershipLevel,
    MembershipSettings,
    NegativePolicy,
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsRule,
    RuleKind,
)
from prm_saas.tags.services import reevaluate_for_patient
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tenants.lookup import get_or_404

MAX_POINTS = 10_000_000  # one entry never moves more than this
KEY_MAX = 100


# --- helpers -------------------------------------------------------------------------


def settings_of(session: TenantSession) -> MembershipSettings:
    """The tenant's membership settings (defaults, unsaved, if none were stored)."""
    row = session.exec(select(MembershipSettings)).first()
    return row if row is not None else MembershipSettings()


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (31 Jan + 1 month = 28/29 Feb)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_for(earned_at: datetime, months: int, tz: ZoneInfo) -> datetime:
    """When points earned at ``earned_at`` expire: at the end of the tenant's local
    day ``months`` months later (midnight starting the next local day), in UTC."""
    local_day = add_months(earned_at.astimezone(tz).date(), months) + timedelta(days=1)
    return datetime.combine(local_day, time(0), tzinfo=tz).astimezone(earned_at.tzinfo)


def _check_points(points: object, *, allow_negative: bool = False) -> int:
    if isinstance(points, bool) or not isinstance(points, int):
        raise FieldErrors({"points": ("points.amount_invalid", {"max": MAX_POINTS})})
    if points == 0 or abs(points) > MAX_POINTS or (points < 0 and not allow_negative):
        raise FieldErrors({"points": ("points.amount_invalid", {"max": MAX_POINTS})})
    return points


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > KEY_MAX:
        raise DomainError("points.key_invalid")
    return key


def _patient_id(session: TenantSession, patient_id: object) -> int:
    patient = get_or_404(session, Patient, patient_id)
    assert patient.id is not None
    return patient.id


def _reader(session: TenantSession, actor: Principal | None, patient_id: object) -> int:
    """The patient id ``actor`` may read: their own, or any for staff with PATIENT_READ.
    Another patient's id is NotFound, like a missing one."""
    if actor is not None and actor.kind == PrincipalKind.PATIENT:
        if actor.tenant_id != session.tenant_id or str(actor.id) != str(patient_id):
            raise NotFound()
        return _patient_id(session, patient_id)
    require_staff(session, actor, Permission.PATIENT_READ)
    return _patient_id(session, patient_id)


def _by_key(session: TenantSession, key: str) -> PointsEntry | None:
    return session.exec(select(PointsEntry).where(col(PointsEntry.idempotency_key) == key)).first()


def _replay(entry: PointsEntry, patient_id: int, kind: EntryKind) -> PointsEntry:
    """The first entry of a repeated key, if it was the same request."""
    if entry.patient_id != patient_id or entry.kind != kind:
        raise DomainError("points.key_reused")
    return entry


def lock_account(session: TenantSession, patient_id: int) -> PointsAccount:
    """The patient's account row, created if missing, locked until the commit."""
    write_lock(session)
    stmt = (
        select(PointsAccount)
        .where(col(PointsAccount.patient_id) == patient_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = session.exec(stmt).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(PointsAccount(patient_id=patient_id))
            session.flush()
    except IntegrityError:
        pass  # another transaction made it first
    return session.exec(stmt).one()


def _insert_entry(session: TenantSession, entry: PointsEntry) -> PointsEntry | None:
    """Insert ``entry``; None if its key was taken meanwhile (by another patient's
    transaction, since this patient's are serialised by the account lock)."""
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
        return entry
    except IntegrityError:
        return None


def _lots(session: TenantSession, patient_id: int) -> list[PointsLot]:
    """The patient's lots with points left, oldest expiry first (locked rows: the
    account lock already serialises this patient)."""
    return list(
        session.exec(
            select(PointsLot)
            .where(col(PointsLot.patient_id) == patient_id, col(PointsLot.remaining) > 0)
            .order_by(col(PointsLot.expires_at), col(PointsLot.id))
            .execution_options(populate_existing=True)
        ).all()
    )


def _spendable_lots(lots: list[PointsLot], now: datetime) -> list[PointsLot]:
    return [lot for lot in lots if lot.available_at <= now < lot.expires_at]


def _take(lots: list[PointsLot], points: int) -> int:
    """Take up to ``points`` from ``lots`` in order; how many were taken."""
    taken = 0
    for lot in lots:
        if taken == points:
            break
        n = min(lot.remaining, points - taken)
        lot.remaining -= n
        taken += n
    return taken


@dataclass(frozen=True)
class Source:
    """What caused an entry: e.g. ("order", "123"), ("challenge", "7")."""

    type: str = ""
    id: str = ""


def _source(source: Source | None) -> Source:
    src = source or Source()
    if len(src.type) > 30 or len(src.id) > 64:
        raise DomainError("points.key_invalid")
    return src


# --- earning ---------------------------------------------------------------------------


def earn(
    session: TenantSession,
    *,
    patient_id: int,
    points: int,
    reason: str,
    source: Source | None,
    idempotency_key: str,
    now: datetime,
    lock_days: int = 0,
) -> PointsEntry:
    """Credit ``points`` as a new lot expiring after the tenant's expiry months,
    spendable after ``lock_days`` (a purchase's return window). Once per key."""
    pts = _check_points(points)
    key = _check_key(idempotency_key)
    src = _source(source)
    if isinstance(lock_days, bool) or not isinstance(lock_days, int) or lock_days < 0:
        raise DomainError("points.amount_invalid", max=MAX_POINTS)
    pid = _patient_id(session, patient_id)
    account = lock_account(session, pid)
    first = _by_key(session, key)
    if first is not None:
        return _replay(first, pid, EntryKind.EARN)
    conf = settings_of(session)
    debt = max(0, -account.balance)
    lot = PointsLot(
        patient_id=pid,
        points=pts,
        remaining=max(0, pts - debt),
        expires_at=expiry_for(now, conf.points_expiry_months, tenant_zone(session)),
        available_at=now + timedelta(days=lock_days),
        source_type=src.type,
        source_id=src.id,
        created_at=now,
    )
    entry = PointsEntry(
        patient_id=pid,
        kind=EntryKind.EARN,
        points=pts,
        reason=reason[:200],
        source_type=src.type,
        source_id=src.id,
        idempotency_key=key,
        created_at=now,
    )
    try:
        # One savepoint for both rows: a key taken meanwhile (by another
        # patient's transaction; this patient's wait on the account lock)
        # takes the lot back with the entry.
        with session.begin_nested():
            session.add(lot)
            session.flush()
            entry.lot_id = lot.id
            session.add(entry)
            session.flush()
    except IntegrityError:
        winner = _by_key(session, key)
        if winner is None:
            raise
        return _replay(winner, pid, EntryKind.EARN)
    account.balance += pts
    account.updated_at = now
    session.add(account)
    session.flush()
    return entry


def award(
    session: TenantSession,
    *,
    patient_id: int,
    rule: RuleKind,
    source: Source,
    idempotency_key: str,
    now: datetime,
    paid_fen: int = 0,
) -> PointsEntry | None:
    """Points by the tenant's earn rule ``rule`` (per yuan of ``paid_fen`` for
    PER_YUAN_PAID, locked for the return window), times the patient's level
    multiplier. None if the rule is missing, inactive or gives nothing."""
    row = session.exec(select(PointsRule).where(col(PointsRule.kind) == rule)).first()
    if row is None or not row.active or row.points <= 0:
        return None
    base = row.points * (paid_fen // 100) if rule == RuleKind.PER_YUAN_PAID else row.points
    level = session.exec(
        select(MembershipLevel)
        .join(MemberCard, col(MemberCard.level_id) == col(MembershipLevel.id))
        .where(col(MemberCard.patient_id) == patient_id)
    ).first()
    points = base * (level.multiplier_percent if level else 100) // 100
    if points <= 0:
        return None
    lock = settings_of(session).return_window_days if rule == RuleKind.PER_YUAN_PAID else 0
    return earn(
        session,
        patient_id=patient_id,
        points=min(points, MAX_POINTS),
        reason=f"rule:{rule.value}",
        source=source,
        idempotency_key=idempotency_key,
        now=now,
        lock_days=lock,
    )


# --- spending ----------------------------------------------------------------------------


def redeem(
    session: TenantSession,
    *,
    actor: Principal | None,
    patient_id: int,
    points: int,
    reason: str,
    source: Source | None,
    idempotency_key: str,
    now: datetime,
) -> PointsEntry:
    """Spend ``points`` from the available lots, oldest expiry first. The patient
    themself or staff with MEMBERS_MANAGE. More than is spendable: ``points.insufficient``."""
    pid = _spender(session, actor, patient_id)
    pts = _check_points(points)
    key = _check_key(idempotency_key)
    src = _source(source)
    account = lock_account(session, pid)
    first = _by_key(session, key)
    if first is not None:
        return _replay(first, pid, EntryKind.REDEEM)
    lots = _spendable_lots(_lots(session, pid), now)
    available = max(0, min(account.balance, sum(lot.remaining for lot in lots)))
    if pts > available:
        raise DomainError("points.insufficient", available=available, requested=pts)
    entry = PointsEntry(
        patient_id=pid,
        kind=EntryKind.REDEEM,
        points=-pts,
        reason=reason[:200],
        source_type=src.type,
        source_id=src.id,
        idempotency_key=key,
        created_at=now,
        created_by_staff_id=actor.id if actor and actor.kind == PrincipalKind.STAFF else None,
    )
    if _insert_entry(session, entry) is None:
        winner = _by_key(session, key)
        assert winner is not None
        return _replay(winner, pid, EntryKind.REDEEM)
    _take(lots, pts)
    for lot in lots:
        session.add(lot)
    account.balance -= pts
    account.updated_at = now
    session.add(account)
    session.flush()
    reevaluate_for_patient(session=session, patient_id=pid, now=now)  # tag rules on points
    return entry


def _spender(session: TenantSession, actor: Principal | None, patient_id: object) -> int:
    if actor is not None and actor.kind == PrincipalKind.PATIENT:
        if actor.tenant_id != session.tenant_id or str(actor.id) != str(patient_id):
            raise NotFound()
        return _patient_id(session, patient_id)
    require_staff(session, actor, Permission.MEMBERS_MANAGE)
    return _patient_id(session, patient_id)


def expire_due(session: TenantSession, *, now: datetime) -> int:
    """Expire every lot of the session's tenant past its expiry with points left:
    one ``expire`` entry per lot (key ``expire:lot:<id>``). Returns the entries made."""
    if session.tenant_id is None:
        raise PermissionDenied()
    patients = session.exec(
        select(PointsLot.patient_id)
        .where(col(PointsLot.remaining) > 0, col(PointsLot.expires_at) <= now)
        .distinct()
    ).all()
    made = 0
    for pid in sorted(patients):
        account = lock_account(session, pid)
        for lot in _lots(session, pid):
            if lot.expires_at > now:
                continue
            assert lot.id is not None
            entry = PointsEntry(
                patient_id=pid,
                kind=EntryKind.EXPIRE,
                points=-lot.remaining,
                reason="expired",
                source_type=lot.source_type,
                source_id=lot.source_id,
                lot_id=lot.id,
                idempotency_key=f"expire:lot:{lot.id}",
                created_at=now,
            )
            if _insert_entry(session, entry) is None:
                continue
            account.balance -= lot.remaining
            lot.remaining = 0
            session.add(lot)
            made += 1
        account.updated_at = now
        session.add(account)
        session.flush()
    return made


def adjust(
    session: TenantSession,
    *,
    actor: Principal | None,
    patient_id: int,
    points: int,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> PointsEntry:
    """A staff correction (MEMBERS_MANAGE), positive (a new lot, spendable now) or
    negative (taken from any lot, oldest expiry first, never below zero). A reason
    is required; audited."""
    staff = require_staff(session, actor, Permission.MEMBERS_MANAGE)
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    why = reason.strip() if isinstance(reason, str) else ""
    if not why:
        errors["reason"] = ("points.reason_required", {})
    elif len(why) > 200:
        errors["reason"] = ("points.reason_too_long", {"max": 200})
    try:
        pts = _check_points(points, allow_negative=True)
    except FieldErrors as e:
        errors.update(e.errors)
    if errors:
        raise FieldErrors(errors)
    key = _check_key(idempotency_key)
    pid = _patient_id(session, patient_id)
    account = lock_account(session, pid)
    first = _by_key(session, key)
    if first is not None:
        return _replay(first, pid, EntryKind.ADJUST)
    lots = _lots(session, pid)
    if pts < 0 and -pts > max(0, account.balance):
        raise DomainError("points.insufficient", available=max(0, account.balance), requested=-pts)
    entry = PointsEntry(
        patient_id=pid,
        kind=EntryKind.ADJUST,
        points=pts,
        reason=why,
        source_type="adjust",
        idempotency_key=key,
        created_at=now,
        created_by_staff_id=staff.id,
    )
    if pts > 0:
        conf = settings_of(session)
        lot = PointsLot(
            patient_id=pid,
            points=pts,
            remaining=max(0, pts - max(0, -account.balance)),
            expires_at=expiry_for(now, conf.points_expiry_months, tenant_zone(session)),
            available_at=now,
            source_type="adjust",
            created_at=now,
        )
        with session.begin_nested():
            session.add(lot)
            session.flush()
        entry.lot_id = lot.id
    else:
        _take(lots, -pts)
        for old in lots:
            session.add(old)
    if _insert_entry(session, entry) is None:
        raise DomainError("points.key_reused")
    account.balance += pts
    account.updated_at = now
    session.add(account)
    record(
        session,
        actor=staff,
        action="points.adjust",
        target_type="patient",
        target_id=pid,
        details={"points": pts, "reason": why, "balance": account.balance},
    )
    session.flush()
    reevaluate_for_patient(session=session, patient_id=pid, now=now)  # tag rules on points
    return entry


def reverse(
    session: TenantSession,
    *,
    source: Source,
    idempotency_key: str,
    now: datetime,
    reason: str = "refund",
    points: int | None = None,
) -> list[PointsEntry]:
    """Claw back what ``source`` earned (a refunded order), once per source and
    patient: first from the source's own lots, then from the others oldest expiry
    first. Points already spent are taken below zero under ``allow_negative``, or
    forgiven under ``floor_zero``. Returns the reverse entries (existing or new).

    With ``points`` (a partial refund's share), at most that many per patient and
    never more than the source earned less what was reversed before; once per
    ``idempotency_key`` (a repeated key returns its entry), so each partial
    refund claws back once and several add up to at most a full reversal."""
    key = _check_key(idempotency_key)
    src = _source(source)
    if not src.type:
        raise DomainError("points.key_invalid")
    share = None if points is None else _check_points(points)
    earned = session.exec(
        select(PointsEntry.patient_id, func.sum(PointsEntry.points))
        .where(
            col(PointsEntry.source_type) == src.type,
            col(PointsEntry.source_id) == src.id,
            col(PointsEntry.kind) == EntryKind.EARN,
        )
        .group_by(col(PointsEntry.patient_id))
    ).all()
    policy = settings_of(session).negative_policy
    out: list[PointsEntry] = []
    for pid, total in sorted(earned):
        account = lock_account(session, pid)
        entry_key = key if len(earned) == 1 else f"{key}#{pid}"[:KEY_MAX]
        if share is None:
            done = session.exec(
                select(PointsEntry).where(
                    col(PointsEntry.patient_id) == pid,
                    col(PointsEntry.source_type) == src.type,
                    col(PointsEntry.source_id) == src.id,
                    col(PointsEntry.kind) == EntryKind.REVERSE,
                )
            ).first()
            if done is not None:
                out.append(done)
                continue
            wanted = int(total)
        else:
            first = _by_key(session, entry_key)
            if first is not None:
                out.append(_replay(first, pid, EntryKind.REVERSE))
                continue
            reversed_before = session.exec(
                select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                    col(PointsEntry.patient_id) == pid,
                    col(PointsEntry.source_type) == src.type,
                    col(PointsEntry.source_id) == src.id,
                    col(PointsEntry.kind) == EntryKind.REVERSE,
                )
            ).one()
            wanted = min(share, int(total) + int(reversed_before))
            if wanted <= 0:
                continue
        lots = _lots(session, pid)
        own = [lot for lot in lots if (lot.source_type, lot.source_id) == (src.type, src.id)]
        rest = [lot for lot in lots if lot not in own]
        taken = _take(own + rest, wanted)
        due = wanted if policy == NegativePolicy.ALLOW_NEGATIVE else taken
        entry = PointsEntry(
            patient_id=pid,
            kind=EntryKind.REVERSE,
            points=-due,
            reason=reason[:200],
            source_type=src.type,
            source_id=src.id,
            idempotency_key=entry_key,
            created_at=now,
        )
        if _insert_entry(session, entry) is None:
            raise DomainError("points.key_reused")
        for lot in lots:
            session.add(lot)
        account.balance -= due
        account.updated_at = now
        session.add(account)
        session.flush()
        out.append(entry)
    return out


# --- reading --------------------------------------------------------------------------------


def balance(session: TenantSession, *, actor: Principal | None, patient_id: int) -> int:
    """The patient's balance (may be negative after a clawback under allow_negative)."""
    pid = _reader(session, actor, patient_id)
    row = session.exec(
        select(PointsAccount.balance).where(col(PointsAccount.patient_id) == pid)
    ).first()
    return int(row or 0)


def spendable(
    session: TenantSession, *, actor: Principal | None, patient_id: int, now: datetime
) -> int:
    """What the patient can redeem now: unexpired lots past their return window."""
    pid = _reader(session, actor, patient_id)
    total = session.exec(
        select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
            col(PointsLot.patient_id) == pid,
            col(PointsLot.available_at) <= now,
            col(PointsLot.expires_at) > now,
        )
    ).one()
    bal = session.exec(
        select(PointsAccount.balance).where(col(PointsAccount.patient_id) == pid)
    ).first()
    return max(0, min(int(total), int(bal or 0)))


def history(
    session: TenantSession, *, actor: Principal | None, patient_id: int, limit: int = 50
) -> list[PointsEntry]:
    """The patient's ledger, newest first."""
    pid = _reader(session, actor, patient_id)
    return list(
        session.exec(
            select(PointsEntry)
            .where(col(PointsEntry.patient_id) == pid)
            .order_by(col(PointsEntry.id).desc())
            .limit(max(1, min(int(limit), 500)))
        ).all()
    )


@dataclass(frozen=True)
class AccountCheck:
    """The balance beside the ledger, the ledger sum and the lots' remaining sum."""

    balance: int
    ledger: int
    lots: int

    @property
    def ok(self) -> bool:
        """Whether the kept balance agrees with the ledger and the lots."""
        lots_ok = self.lots == self.balance if self.balance >= 0 else self.lots == 0
        return self.balance == self.ledger and lots_ok


def check_account(session: TenantSession, *, patient_id: int) -> AccountCheck:
    """Compare a patient's kept balance with the ledger sum and the lots (a job or a
    test calls this; a mismatch is a bug)."""
    bal = session.exec(
        select(PointsAccount.balance).where(col(PointsAccount.patient_id) == patient_id)
    ).first()
    ledger = session.exec(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            col(PointsEntry.patient_id) == patient_id
        )
    ).one()
    lots = session.exec(
        select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
            col(PointsLot.patient_id) == patient_id
        )
    ).one()
    return AccountCheck(balance=int(bal or 0), ledger=int(ledger), lots=int(lots))
