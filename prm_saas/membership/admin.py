"""Membership administration (MEMBERS_MANAGE): the policy (points expiry, return
window, negative-balance policy, notice days, card format, a card at
self-registration), levels, earn rules, the member list and a member's detail;
and the front desk's card lookup (FRONT_DESK).

Every change is validated as a whole (all field errors at once, nothing written
on error), done in the caller's one transaction and audited. A level or patient
of another tenant is NotFound, exactly like a missing one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record
from prm_saas.booking.schedule import pk, tenant_zone
from prm_saas.display import masked_phone
from prm_saas.mall.money import check_yuan
from prm_saas.membership.cards import _settings_row, rolling_totals
from prm_saas.membership.models import (
    MemberCard,
    MembershipLevel,
    MembershipSettings,
    NegativePolicy,
    PointsRule,
    RuleKind,
)
from prm_saas.membership.points import MAX_POINTS
from prm_saas.membership.referrals import referral_info
from prm_saas.membership.statement import (
    Balances,
    HistoryLine,
    LevelView,
    balances_of,
    card_and_level,
    history_lines,
    level_view,
)
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import FieldErrors, NotFound
from tenants.lookup import get_or_404
from tenants.types import utcnow

CARD_PREFIX_RE = re.compile(r"^[A-Za-z0-9]{0,10}$")
EXPIRY_MONTHS = (1, 120)
WINDOW_DAYS = (0, 365)
NOTICE_DAYS = (0, 365)
CARD_DIGITS = (4, 12)
LEVEL_RANK = (0, 99)
MULTIPLIER = (100, 1000)  # x1 .. x10
PER_YUAN_MAX = 100  # points per yuan paid
PAGE_SIZE = 20
QUERY_MAX = 40


class CardNotFound(NotFound):
    """No card with this number in the tenant (or another tenant's card)."""

    key = "membership.card_not_found"


def _int(ck: Checker, field: str, value: object, lo: int, hi: int) -> int:
    """An integer typed into a form (digits only, full-width too) within [lo, hi]."""
    try:
        if isinstance(value, (bool, float)):
            raise ValueError
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if not re.fullmatch(r"-?[0-9]{1,9}", text):
            raise ValueError
        n = int(text)
    except (TypeError, ValueError):
        ck.fail(field, "membership.field.number_invalid", min=lo, max=hi)
        return lo
    if not lo <= n <= hi:
        ck.fail(field, "membership.field.number_invalid", min=lo, max=hi)
    return n


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes"}
    return bool(value)


# --- policy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The tenant's membership policy as the admin page shows it."""

    points_expiry_months: int
    return_window_days: int
    negative_policy: str
    notice_days: int
    card_prefix: str
    card_digits: int
    auto_issue_card: bool
    next_card_number: str  # what the next card issued will be numbered


@dataclass(frozen=True)
class PolicyInput:
    """The policy form, as the client sent it (validated by the service)."""

    points_expiry_months: int | str
    return_window_days: int | str
    negative_policy: str
    notice_days: int | str
    card_prefix: str
    card_digits: int | str
    auto_issue_card: bool | str = True


def _policy(row: MembershipSettings) -> Policy:
    return Policy(
        points_expiry_months=row.points_expiry_months,
        return_window_days=row.return_window_days,
        negative_policy=str(row.negative_policy),
        notice_days=row.notice_days,
        card_prefix=row.card_prefix,
        card_digits=row.card_digits,
        auto_issue_card=row.auto_issue_card,
        next_card_number=f"{row.card_prefix}{row.card_next:0{row.card_digits}d}",
    )


def get_policy(*, session: TenantSession, actor: Principal | None) -> Policy:
    """The tenant's policy (the defaults until an admin saves one)."""
    require_staff(session, actor, Permission.MEMBERS_MANAGE)
    row = session.exec(select(MembershipSettings)).first()
    return _policy(row if row is not None else MembershipSettings())


def _clean_policy(data: PolicyInput) -> dict[str, Any]:
    ck = Checker()
    prefix = unicodedata.normalize("NFKC", str(data.card_prefix or "")).strip()
    if not CARD_PREFIX_RE.match(prefix):
        ck.fail("card_prefix", "membership.field.card_prefix_invalid", max=10)
    out: dict[str, Any] = {
        "points_expiry_months": _int(
            ck, "points_expiry_months", data.points_expiry_months, *EXPIRY_MONTHS
        ),
        "return_window_days": _int(ck, "return_window_days", data.return_window_days, *WINDOW_DAYS),
        "notice_days": _int(ck, "notice_days", data.notice_days, *NOTICE_DAYS),
        "card_digits": _int(ck, "card_digits", data.card_digits, *CARD_DIGITS),
        "negative_policy": ck.choice(
            "negative_policy", str(data.negative_policy or ""), tuple(NegativePolicy)
        ),
        "card_prefix": prefix,
        "auto_issue_card": _bool(data.auto_issue_card),
    }
    ck.raise_if_any()
    out["negative_policy"] = NegativePolicy(out["negative_policy"])
    return out


def _check_format_is_free(session: TenantSession, prefix: str, digits: int, first: int) -> None:
    """Refuse a new card format that could number a card like one already issued
    (say M + 8 digits before, M0 + 7 digits now): the sequence goes on from
    ``first``, so a clash is an issued number the new format makes from ``first`` on.
    Case does not count: the desk finds cards whatever the case."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    issued = session.exec(
        select(MemberCard.number).where(col(MemberCard.number).ilike(f"{escaped}%", escape="\\"))
    ).all()
    for number in issued:
        tail = number[len(prefix) :]
        if not tail.isdigit() or not tail.isascii() or len(tail) < digits:
            continue
        if (len(tail) == digits or not tail.startswith("0")) and int(tail) >= first:
            raise FieldErrors.single("card_prefix", "membership.field.card_format_clash")


def update_policy(*, session: TenantSession, actor: Principal | None, data: PolicyInput) -> Policy:
    """Save the policy. A new card format applies to cards issued from now on (the
    sequence continues; issued numbers stay). Audited with what changed."""
    staff = require_staff(session, actor, Permission.MEMBERS_MANAGE)
    clean = _clean_policy(data)
    row = _settings_row(session)
    if (clean["card_prefix"], clean["card_digits"]) != (row.card_prefix, row.card_digits):
        _check_format_is_free(session, clean["card_prefix"], clean["card_digits"], row.card_next)
    changed = {
        name: {"from": str(getattr(row, name)), "to": str(value)}
        for name, value in clean.items()
        if getattr(row, name) != value
    }
    for name, value in clean.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    record(
        session,
        actor=staff,
        action="membership.policy_updated",
        target_type="membership_settings",
        target_id=row.id,
        details={"changed": changed},
    )
    return _policy(row)


# --- levels ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelInput:
    """The level form, as the client sent it. Money is typed in yuan."""

    name_zh: str
    rank: int | str
    name_en: str = ""
    min_points_12m: int | str = 0
    min_spent_yuan_12m: str = ""
    discount_percent: int | str = 0
    multiplier_percent: int | str = 100


def list_levels(*, session: TenantSession, actor: Principal | None) -> list[LevelView]:
    """Every level (active or not), lowest rank first, with its card count."""
    require_staff(session, actor, Permission.MEMBERS_MANAGE)
    counts = {
        int(lid or 0): int(n)
        for lid, n in session.exec(
            select(MemberCard.level_id, func.count())
            .where(col(MemberCard.level_id).is_not(None))
            .group_by(col(MemberCard.level_id))
        ).all()
    }
    rows = session.exec(
        select(MembershipLevel).order_by(col(MembershipLevel.rank), col(MembershipLevel.id))
    ).all()
    return [level_view(lv, counts.get(pk(lv), 0)) for lv in rows]


def _clean_level(
    session: TenantSession, data: LevelInput, *, level_id: int | None
) -> dict[str, Any]:
    ck = Checker()
    name_zh = ck.text("name_zh", data.name_zh, max_len=40)
    name_en = ck.text("name_en", data.name_en, max_len=40, required=False)
    rank = _int(ck, "rank", data.rank, *LEVEL_RANK)
    out: dict[str, Any] = {
        "name_zh": name_zh,
        "name_en": name_en,
        "rank": rank,
        "min_points_12m": _int(ck, "min_points_12m", data.min_points_12m, 0, MAX_POINTS),
        "min_spent_fen_12m": check_yuan(
            ck, "min_spent_yuan_12m", data.min_spent_yuan_12m, required=False
        ),
        "discount_percent": _int(ck, "discount_percent", data.discount_percent, 0, 100),
        "multiplier_percent": _int(ck, "multiplier_percent", data.multiplier_percent, *MULTIPLIER),
    }
    others = [
        lv
        for lv in session.exec(select(MembershipLevel)).all()
        if level_id is None or lv.id != level_id
    ]
    if name_zh and any(lv.name_zh == name_zh for lv in others):
        ck.fail("name_zh", "membership.field.level_name_taken")
    if name_en and any(lv.name_en.lower() == name_en.lower() for lv in others):
        ck.fail("name_en", "membership.field.level_name_taken")
    if "rank" not in ck.errors and any(lv.rank == rank for lv in others):
        ck.fail("rank", "membership.field.level_rank_taken")
    ck.raise_if_any()
    return out


def _save_level(session: TenantSession, level: MembershipLevel) -> None:
    try:
        with session.begin_nested():
            session.add(level)
            session.flush()
    except IntegrityError:
        # A concurrent save took the rank between the check and the write.
        raise FieldErrors.single("rank", "membership.field.level_rank_taken") from None
    _recheck_cards(session)


def _recheck_cards(session: TenantSession) -> None:
    """The levels changed: every card is due for recalculation at the membership
    job's next (hourly) run, not only at the next local day."""
    session.exec(
        update(MemberCard)
        .where(col(MemberCard.level_checked_at).is_not(None))
        .values(level_checked_at=None)
        .execution_options(synchronize_session=False)
    )


def create_level(*, session: TenantSession, actor: Principal | None, data: LevelInput) -> LevelView:
    """A new level. Names and rank are unique in the tenant; a level with both
    thresholds 0 is the entry level everyone reaches."""
    staff = require_staff(session, actor, Permission.MEMBERS_MANAGE)
    level = MembershipLevel(**_clean_level(session, data, level_id=None))
    _save_level(session, level)
    record(
        session,
        actor=staff,
        action="membership.level_created",
        target_type="membership_level",
        target_id=level.id,
        details={"name_zh": level.name_zh, "rank": level.rank},
    )
    return level_view(level)


def update_level(
    *, session: TenantSession, actor: Principal | None, level_id: int, data: LevelInput
) -> LevelView:
    """Change a level's names, rank, thresholds or benefits (cards move at the next
    recalculation: the membership job's next run, or the member's next earning)."""
    staff = require_staff(session, actor, Permission.MEMBERS_MANAGE)
    level = get_or_404(session, MembershipLevel, level_id)
    clean = _clean_level(session, data, level_id=level.id)
    changed = {k: v for k, v in clean.items() if getattr(level, k) != v}
    for name, value in clean.items():
        setattr(level, name, value)
    _save_level(session, level)
    record(
        session,
        actor=staff,
        action="membership.level_updated",
        target_type="membership_level",
        target_id=level.id,
        details={"changed": sorted(changed)},
    )
    return level_view(level)


def set_level_active(
    *, session: TenantSession, actor: Principal | None, level_id: int, active: bool
) -> LevelView:
    """Switch a level on or off (an inactive level is skipped by recalculation;
    its cards move at the membership job's next run)."""
    staff = require_staff(session, actor, Permission.MEMBERS_MANAGE)
    level = get_or_404(session, MembershipLevel, level_id)
    level.active = _bool(active)
    session.add(level)
    session.flush()
    _recheck_cards(session)
    record(
        session,
        actor=staff,
        action="membership.level_activated" if level.active else "membership.level_deactivated",
        target_type="membership_level",
        target_id=level.id,
    )
    return level_view(level)


# --- earn rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleView:
    """An earn rule: ``points`` per event, or per yuan paid for ``per_yuan_paid``.
    ``label_key`` names the rule in the reader's language."""

    kind: str
    points: int
    active: bool
    label_key: str
    max_points: int


def _rule_max(kind: RuleKind) -> int:
    return PER_YUAN_MAX if kind == RuleKind.PER_YUAN_PAID else MAX_POINTS


def _rule_view(kind: RuleKind, row: PointsRule | None) -> RuleView:
    return RuleView(
        kind=kind.value,
        points=row.points if row else 0,
        active=row.active if row else False,
        label_key=f"points.reason.{kind.value}",
        max_points=_rule_max(kind),
    )


def list_rules(*, session: TenantSession, actor: Principal | None) -> list[RuleView]:
    """Every kind of earn rule, in a fixed order; one not yet set is 0 and off."""
    require_staff(session, actor, Permission.MEMBERS_MANAGE)
    rows = {RuleKind(r.kind): r for r in session.exec(select(PointsRule)).all()}
    return [_rule_view(kind, rows.get(kind)) for kind in RuleKind]


def set_rule(
    *,
    session: TenantSession,
    actor: Principal | None,
    kind: str,
    points: int | str,
    active: bool,
) -> RuleView:
    """Set one earn rule (created on first save)."""
    staff = require_staff(session, actor, Permission.MEMBERS_MANAGE)
    ck = Checker()
    k = ck.choice("kind", str(kind or ""), tuple(RuleKind))
    rule_kind = RuleKind(k) if k in tuple(RuleKind) else RuleKind.CHECKUP_COMPLETED
    pts = _int(ck, "points", points, 0, _rule_max(rule_kind))
    ck.raise_if_any()
    stmt = select(PointsRule).where(col(PointsRule.kind) == rule_kind)
    row = session.exec(stmt).first()
    if row is None:
        try:
            with session.begin_nested():
                row = PointsRule(kind=rule_kind)
                session.add(row)
                session.flush()
        except IntegrityError:
            row = session.exec(stmt).one()  # a concurrent save made it
    before = (row.points, row.active)
    row.points, row.active, row.updated_at = pts, _bool(active), utcnow()
    session.add(row)
    session.flush()
    record(
        session,
        actor=staff,
        action="membership.rule_set",
        target_type="points_rule",
        target_id=row.id,
        details={"kind": rule_kind.value, "from": list(before), "to": [row.points, row.active]},
    )
    return _rule_view(rule_kind, row)


# --- members ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    """A patient in the member list. ``card_number`` is "" when no card was issued."""

    patient_id: int
    name: str
    phone_masked: str
    card_number: str
    level_id: int | None
    level_name_zh: str
    level_name_en: str
    balance: int
    spendable: int
    expiring: int  # within the notice days
    expiring_last_day: date | None


@dataclass(frozen=True)
class MemberPage:
    """One page of the member list."""

    rows: list[MemberRow]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the list has (at least 1)."""
        return max(1, -(-self.total // self.page_size))


def _page(value: object) -> int:
    try:
        return max(1, min(int(str(value)), 100_000))
    except (TypeError, ValueError):
        return 1


def _search(query: str) -> Any:
    """Name contains the text, card number contains it, or (when it is typed like a
    phone number) phone contains its digits (3+)."""
    q = unicodedata.normalize("NFKC", str(query or "")).strip()[:QUERY_MAX]
    if not q:
        return None
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conds = [
        col(Patient.name).like(f"%{escaped}%", escape="\\"),
        col(MemberCard.number).ilike(f"%{escaped}%", escape="\\"),
    ]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3 and re.fullmatch(r"[0-9+\-\s()]+", q):  # typed like a phone number
        conds.append(col(Patient.phone).like(f"%{digits}%"))
    return or_(*conds)


def list_members(
    *,
    session: TenantSession,
    actor: Principal | None,
    query: str = "",
    level_id: int | None = None,
    page: int = 1,
    now: datetime | None = None,
) -> MemberPage:
    """Patients with their card, level and points, newest card first (patients
    without a card last), ``PAGE_SIZE`` a page. ``query`` matches a name, phone
    digits or a card number; ``level_id`` keeps one level's card holders (another
    tenant's level matches nobody)."""
    require_staff(session, actor, Permission.MEMBERS_MANAGE)
    now = now or utcnow()
    page_no = _page(page)
    stmt = select(Patient, MemberCard).join(
        MemberCard, col(MemberCard.patient_id) == col(Patient.id), isouter=True
    )
    cond = _search(query)
    if cond is not None:
        stmt = stmt.where(cond)
    if level_id not in (None, "", 0):
        try:
            lid = int(str(level_id))
        except (TypeError, ValueError):
            lid = -1
        stmt = stmt.where(col(MemberCard.level_id) == lid)
    total = int(session.exec(select(func.count()).select_from(stmt.subquery())).one())
    rows = session.exec(
        stmt.order_by(
            col(MemberCard.id).is_(None),
            col(MemberCard.id).desc(),
            col(Patient.id).desc(),
        )
        .offset((page_no - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    conf = session.exec(select(MembershipSettings)).first() or MembershipSettings()
    ids = [pk(p) for p, _ in rows]
    money = balances_of(
        session, ids, now=now, notice_days=conf.notice_days, tz=tenant_zone(session)
    )
    level_ids = {c.level_id for _, c in rows if c is not None and c.level_id is not None}
    levels = {
        pk(lv): lv
        for lv in session.exec(
            select(MembershipLevel).where(col(MembershipLevel.id).in_(level_ids))
        ).all()
    }
    out: list[MemberRow] = []
    for patient, card in rows:
        b = money.get(pk(patient), Balances())
        lv = levels.get(card.level_id) if card is not None and card.level_id else None
        out.append(
            MemberRow(
                patient_id=pk(patient),
                name=patient.name,
                phone_masked=masked_phone(patient.phone),
                card_number=card.number if card else "",
                level_id=lv.id if lv else None,
                level_name_zh=lv.name_zh if lv else "",
                level_name_en=lv.name_en if lv else "",
                balance=b.balance,
                spendable=b.spendable,
                expiring=b.expiring,
                expiring_last_day=b.expiring_last_day,
            )
        )
    return MemberPage(rows=out, page=page_no, page_size=PAGE_SIZE, total=total)


@dataclass(frozen=True)
class MemberDetail:
    """A member as staff see them: card, level and benefits, points, the rolling
    12 months that decide the level, and the newest ledger lines."""

    patient_id: int
    name: str
    phone_masked: str
    card_number: str  # "" without a card
    card_issued_at: datetime | None
    level: LevelView | None
    points: Balances
    points_12m: int
    spent_fen_12m: int
    history: list[HistoryLine]
    referred_by: str = ""  # the referrer's name and card number, "" if nobody
    referred_count: int = 0  # patients who registered with this member's card number


def _detail(session: TenantSession, patient: Patient, now: datetime) -> MemberDetail:
    pid = pk(patient)
    card, level = card_and_level(session, pid)
    conf = session.exec(select(MembershipSettings)).first() or MembershipSettings()
    money = balances_of(
        session, [pid], now=now, notice_days=conf.notice_days, tz=tenant_zone(session)
    )
    pts, fen = rolling_totals(session, patient_id=pid, now=now)
    ref = referral_info(session, patient_id=pid)
    return MemberDetail(
        patient_id=pid,
        name=patient.name,
        phone_masked=masked_phone(patient.phone),
        card_number=card.number if card else "",
        card_issued_at=card.issued_at if card else None,
        level=level_view(level) if level else None,
        points=money.get(pid, Balances()),
        points_12m=pts,
        spent_fen_12m=fen,
        history=history_lines(session, pid),
        referred_by=f"{ref.referred_by_name} {ref.referred_by_card}".strip(),
        referred_count=ref.referred_count,
    )


def member_detail(
    *, session: TenantSession, actor: Principal | None, patient_id: int, now: datetime
) -> MemberDetail:
    """One member (MEMBERS_MANAGE)."""
    require_staff(session, actor, Permission.MEMBERS_MANAGE)
    patient = get_or_404(session, Patient, patient_id)
    return _detail(session, patient, now)


def find_card(
    *,
    session: TenantSession,
    actor: Principal | None,
    number: str,
    now: datetime | None = None,
) -> MemberDetail:
    """What the front desk sees when it scans or types a card number (FRONT_DESK).
    Case and surrounding spaces do not matter; an unknown number, or another
    tenant's, is ``membership.card_not_found`` (a NotFound)."""
    require_staff(session, actor, Permission.FRONT_DESK)
    text = unicodedata.normalize("NFKC", str(number or "")).strip().upper()
    if not text or len(text) > 30:
        raise CardNotFound()
    card = session.exec(
        select(MemberCard).where(func.upper(col(MemberCard.number)) == text)
    ).first()
    if card is None:
        raise CardNotFound()
    patient = get_or_404(session, Patient, card.patient_id)
    return _detail(session, patient, now or utcnow())
