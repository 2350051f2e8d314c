"""Conditions of tag rules: a pluggable registry.

Each ``ConditionSpec`` names its parameters (validated with per-field errors)
and compiles them to a SQL clause on the row of a query ``FROM patient``: a
predicate on the patient's own columns (age, sex) or ``Patient.id IN (...)``
over other tables, so a rule is evaluated by the database over the whole tenant
at once, never patient by patient in Python. Every subquery also names its
tenant, a belt to the tenant session's braces. Dates ("age", "days since") are the tenant's local
calendar dates: ``ConditionContext.today`` is today in the tenant's zone.

Later features register their own conditions (lab indicators, questionnaire
answers) with ``register``.

A rule's conditions are JSON: ``[{"key": "age_band", "params": {"min_age": 40}}]``;
all of them must hold.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, func, select

from prm_saas.accounts.models import Patient, Sex
from prm_saas.booking.models import Booking, BookingStatus, Slot
from prm_saas.booking.schedule import local_today, tenant_zone
from prm_saas.challenges.models import Challenge, ChallengeParticipant
from prm_saas.mall.models import HealthPackage
from prm_saas.membership.models import MemberCard, MembershipLevel, PointsAccount
from prm_saas.orders.models import Order, OrderLine, OrderStatus
from prm_saas.validation import Checker
from tenants.db import TenantSession

MAX_CONDITIONS = 10
MAX_DAYS = 3650
MAX_COUNT = 1000
MAX_POINTS = 1_000_000_000

# A visit is a booking the patient came to.
VISITED = (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)
# An order whose package counts as bought (a full refund takes it back).
PAID = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)


@dataclass(frozen=True)
class ConditionContext:
    """What a clause may depend on besides its parameters."""

    tenant_id: int
    now: datetime  # UTC
    tz: ZoneInfo

    @property
    def today(self) -> date:
        """The tenant's calendar date at ``now``."""
        return local_today(self.now, self.tz)

    def day_start(self, day: date) -> datetime:
        """The UTC instant the tenant's local ``day`` begins."""
        return datetime.combine(day, time(), tzinfo=self.tz).astimezone(ZoneInfo("UTC"))


def context(session: TenantSession, now: datetime) -> ConditionContext:
    """The context of the session's tenant at ``now``."""
    assert session.tenant_id is not None
    return ConditionContext(tenant_id=session.tenant_id, now=now, tz=tenant_zone(session))


@dataclass(frozen=True)
class Param:
    """One parameter of a condition.

    ``kind``: ``int`` (``lo``..``hi``), ``choice`` (one of ``choices``) or ``ref``
    (the id of a ``ref`` row in this tenant).
    """

    name: str
    kind: str
    required: bool = True
    lo: int = 0
    hi: int = MAX_DAYS
    choices: tuple[str, ...] = ()
    ref: Any = None


Where = Callable[[dict[str, Any], ConditionContext], ColumnElement[bool]]


@dataclass(frozen=True)
class ConditionSpec:
    """A kind of condition: its key, label, parameters and SQL."""

    key: str
    label_key: str
    params: tuple[Param, ...]
    where: Where
    # (low, high) parameter pairs: when both are given, low <= high.
    ranges: tuple[tuple[str, str], ...] = field(default=())
    # At least one of these parameters must be given (a band needs an end).
    one_of: tuple[str, ...] = field(default=())


REGISTRY: dict[str, ConditionSpec] = {}


def register(spec: ConditionSpec) -> ConditionSpec:
    """Add a condition kind (a key registered twice is a bug)."""
    if spec.key in REGISTRY:
        raise RuntimeError(f"condition {spec.key!r} registered twice")
    REGISTRY[spec.key] = spec
    return spec


# --- validation --------------------------------------------------------------------


def _int_value(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _clean_params(
    session: TenantSession, spec: ConditionSpec, raw: object, ck: Checker, prefix: str
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    given = raw if isinstance(raw, dict) else {}
    for p in spec.params:
        fname = f"{prefix}.{p.name}"
        value = given.get(p.name)
        if value is None or value == "":
            if p.required:
                ck.fail(fname, "field.required")
            continue
        if p.kind == "choice":
            if not isinstance(value, str) or value not in p.choices:
                ck.fail(fname, "field.choice_invalid")
                continue
            params[p.name] = value
            continue
        number = _int_value(value)
        if p.kind == "ref":
            if number is None or not _ref_exists(session, p.ref, number):
                ck.fail(fname, "tags.field.ref_unknown")
                continue
            params[p.name] = number
            continue
        if number is None or not p.lo <= number <= p.hi:
            ck.fail(fname, "tags.field.number_invalid", min=p.lo, max=p.hi)
            continue
        params[p.name] = number
    for low, high in spec.ranges:
        if low in params and high in params and params[low] > params[high]:
            ck.fail(f"{prefix}.{high}", "tags.field.range_invalid")
    if spec.one_of and not any(given.get(name) not in (None, "") for name in spec.one_of):
        ck.fail(f"{prefix}.{spec.one_of[0]}", "tags.field.band_empty")
    return params


def _ref_exists(session: TenantSession, model: Any, rid: int) -> bool:
    row = session.exec(
        select(model.id).where(model.id == rid, model.tenant_id == session.tenant_id)
    ).first()
    return row is not None


def validate_conditions(session: TenantSession, raw: object) -> list[dict[str, Any]]:
    """Clean ``raw`` (a JSON string or a list of ``{"key", "params"}``), or raise
    FieldErrors naming ``conditions`` / ``conditions.<i>.key`` /
    ``conditions.<i>.<param>``."""
    ck = Checker()
    items: object = raw
    if isinstance(raw, str):
        try:
            items = json.loads(raw)
        except ValueError:
            items = None
    if not isinstance(items, list) or not items:
        ck.fail("conditions", "tags.field.conditions_required")
        ck.raise_if_any()
    assert isinstance(items, list)
    if len(items) > MAX_CONDITIONS:
        ck.fail("conditions", "tags.field.conditions_too_many", max=MAX_CONDITIONS)
        ck.raise_if_any()
    cleaned: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        prefix = f"conditions.{i}"
        key = item.get("key") if isinstance(item, dict) else None
        spec = REGISTRY.get(key) if isinstance(key, str) else None
        if spec is None:
            ck.fail(f"{prefix}.key", "tags.field.condition_unknown")
            continue
        assert isinstance(item, dict)
        params = _clean_params(session, spec, item.get("params"), ck, prefix)
        cleaned.append({"key": spec.key, "params": params})
    ck.raise_if_any()
    return cleaned


def compile_conditions(
    conditions: Sequence[dict[str, Any]], ctx: ConditionContext
) -> ColumnElement[bool]:
    """All of the (validated) conditions, as one clause on ``Patient.id``."""
    clauses = [REGISTRY[c["key"]].where(c["params"], ctx) for c in conditions]
    return sa.and_(sa.true(), *clauses)


# --- helpers for clauses -------------------------------------------------------------


def _pid() -> Any:
    return col(Patient.id)


def _years_before(day: date, years: int) -> date:
    """``day`` ``years`` years earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _count_band(base: Any, patient_col: Any, lo: int, hi: int | None) -> ColumnElement[bool]:
    """Patients with between ``lo`` and ``hi`` rows of ``base`` (rows per patient,
    counted by one GROUP BY); patients with no row count as zero."""
    grouped = select(patient_col).select_from(base).group_by(patient_col)
    if lo >= 1:
        having = func.count() >= lo
        if hi is not None:
            having = sa.and_(having, func.count() <= hi)
        return _pid().in_(grouped.having(having))
    if hi is None:
        return sa.true()
    return _pid().not_in(grouped.having(func.count() > hi))


# --- the conditions -------------------------------------------------------------------


def _age_band(p: dict[str, Any], ctx: ConditionContext) -> ColumnElement[bool]:
    # The patient's own columns: a predicate on the outer row, not a subquery, so a
    # rule over every patient reads the table once (benchmarks/audience.py).
    today = ctx.today
    conds: list[Any] = [col(Patient.birth_date).is_not(None)]
    if "min_age" in p:
        conds.append(col(Patient.birth_date) <= _years_before(today, p["min_age"]))
    if "max_age" in p:
        conds.append(col(Patient.birth_date) > _years_before(today, p["max_age"] + 1))
    return sa.and_(*conds)


def _sex(p: dict[str, Any], _ctx: ConditionContext) -> ColumnElement[bool]:
    return col(Patient.sex) == p["sex"]


def _days_since_visit(p: dict[str, Any], ctx: ConditionContext) -> ColumnElement[bool]:
    """The last visit (a checked-in or completed booking; its slot's local day) was
    between ``min_days`` and ``max_days`` days ago. Never visited: no match."""
    today = ctx.today
    last = func.max(col(Slot.day))
    having: list[Any] = [last <= today - timedelta(days=p["min_days"])]
    if "max_days" in p:
        having.append(last >= today - timedelta(days=p["max_days"]))
    sub = (
        select(Booking.patient_id)
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .where(
            col(Booking.tenant_id) == ctx.tenant_id,
            col(Slot.tenant_id) == ctx.tenant_id,
            col(Booking.status).in_(VISITED),
            col(Slot.day) <= today,
        )
        .group_by(col(Booking.patient_id))
        .having(*having)
    )
    return _pid().in_(sub)


def _package_bought(p: dict[str, Any], ctx: ConditionContext) -> ColumnElement[bool]:
    """A paid (not fully refunded) order with a line of this package, optionally paid
    within the last ``within_days`` local days (today counts as day 0)."""
    conds: list[Any] = [
        col(Order.tenant_id) == ctx.tenant_id,
        col(OrderLine.tenant_id) == ctx.tenant_id,
        col(Order.status).in_(PAID),
        col(OrderLine.kind) == "package",
        col(OrderLine.ref_id) == p["package_id"],
    ]
    if "within_days" in p:
        since = ctx.day_start(ctx.today - timedelta(days=p["within_days"]))
        conds.append(col(Order.paid_at) >= since)
    sub = select(Order.patient_id).join(OrderLine, col(OrderLine.order_id) == col(Order.id))
    return _pid().in_(sub.where(*conds))


def _booking_status(p: dict[str, Any], ctx: ConditionContext) -> ColumnElement[bool]:
    """A booking in this status, optionally on a day no older than ``within_days``."""
    conds: list[Any] = [
        col(Booking.tenant_id) == ctx.tenant_id,
        col(Booking.status) == p["status"],
    ]
    sub = select(Booking.patient_id)
    if "within_days" in p:
        sub = sub.join(Slot, col(Slot.id) == col(Booking.slot_id))
        conds.append(col(Slot.day) >= ctx.today - timedelta(days=p["within_days"]))
    return _pid().in_(sub.where(*conds))


def _no_show_count(p: dict[str, Any], ctx: ConditionContext) -> ColumnElement[bool]:
    """Between ``min_count`` and ``max_count`` no-shows (optionally in the last
    ``within_days`` days)."""
    base = sa.join(
        Booking.__table__,  # type: ignore[attr-defined]
        Slot.__table__,  # type: ignore[attr-defined]
        col(Slot.id) == col(Booking.slot_id),
    )
    conds: list[Any] = [
        col(Booking.tenant_id) == ctx.tenant_id,
        col(Booking.status) == BookingStatus.NO_SHOW,
    ]
    if "within_days" in p:
        conds.append(col(Slot.day) >= ctx.today - timedelta(days=p["within_days"]))
    filtered = select(col(Booking.patient_id)).select_from(base).where(*conds).subquery()
    return _count_band(filtered, filtered.c.patient_id, p["min_count"], p.get("max_count"))


def _member_level(p: dict[str, Any], ctx: ConditionContext) -> ColumnElement[bool]:
    return _pid().in_(
        select(MemberCard.patient_id).where(
            col(MemberCard.tenant_id) == ctx.tenant_id,
            col(MemberCard.level_id) == p["level_id"],
        )
    )


def _points_balance(p: dict[str, Any], ctx: ConditionContext) -> ColumnElement[bool]:
    """A points balance between ``min_points`` and ``max_points`` (no account: 0)."""
    lo = p.get("min_points")
    hi = p.get("max_points")
    balance = col(PointsAccount.balance)
    conds: list[Any] = [col(PointsAccount.tenant_id) == ctx.tenant_id]
    if lo is not None:
        conds.append(balance >= lo)
    if hi is not None:
        conds.append(balance <= hi)
    in_band = _pid().in_(select(PointsAccount.patient_id).where(*conds))
    if (lo is None or lo <= 0) and (hi is None or hi >= 0):
        has_account = select(PointsAccount.patient_id).where(
            col(PointsAccount.tenant_id) == ctx.tenant_id
        )
        return sa.or_(in_band, _pid().not_in(has_account))
    return in_band


def _challenge(completed: bool) -> Where:
    def where(p: dict[str, Any], ctx: ConditionContext) -> ColumnElement[bool]:
        conds: list[Any] = [col(ChallengeParticipant.tenant_id) == ctx.tenant_id]
        if "challenge_id" in p:
            conds.append(col(ChallengeParticipant.challenge_id) == p["challenge_id"])
        if completed:
            conds.append(col(ChallengeParticipant.completed_at).is_not(None))
        return _pid().in_(select(ChallengeParticipant.patient_id).where(*conds))

    return where


def _days(name: str, required: bool = False) -> Param:
    return Param(name, "int", required=required, lo=0, hi=MAX_DAYS)


register(
    ConditionSpec(
        key="age_band",
        label_key="tags.cond.age_band",
        params=(
            Param("min_age", "int", required=False, lo=0, hi=150),
            Param("max_age", "int", required=False, lo=0, hi=150),
        ),
        where=_age_band,
        ranges=(("min_age", "max_age"),),
        one_of=("min_age", "max_age"),
    )
)
register(
    ConditionSpec(
        key="sex",
        label_key="tags.cond.sex",
        params=(Param("sex", "choice", choices=tuple(s.value for s in Sex)),),
        where=_sex,
    )
)
register(
    ConditionSpec(
        key="days_since_visit",
        label_key="tags.cond.days_since_visit",
        params=(_days("min_days", required=True), _days("max_days")),
        where=_days_since_visit,
        ranges=(("min_days", "max_days"),),
    )
)
register(
    ConditionSpec(
        key="package_bought",
        label_key="tags.cond.package_bought",
        params=(Param("package_id", "ref", ref=HealthPackage), _days("within_days")),
        where=_package_bought,
    )
)
register(
    ConditionSpec(
        key="booking_status",
        label_key="tags.cond.booking_status",
        params=(
            Param("status", "choice", choices=tuple(s.value for s in BookingStatus)),
            _days("within_days"),
        ),
        where=_booking_status,
    )
)
register(
    ConditionSpec(
        key="no_show_count",
        label_key="tags.cond.no_show_count",
        params=(
            Param("min_count", "int", lo=0, hi=MAX_COUNT),
            Param("max_count", "int", required=False, lo=0, hi=MAX_COUNT),
            _days("within_days"),
        ),
        where=_no_show_count,
        ranges=(("min_count", "max_count"),),
    )
)
register(
    ConditionSpec(
        key="member_level",
        label_key="tags.cond.member_level",
        params=(Param("level_id", "ref", ref=MembershipLevel),),
        where=_member_level,
    )
)
register(
    ConditionSpec(
        key="points_balance",
        label_key="tags.cond.points_balance",
        params=(
            Param("min_points", "int", required=False, lo=-MAX_POINTS, hi=MAX_POINTS),
            Param("max_points", "int", required=False, lo=-MAX_POINTS, hi=MAX_POINTS),
        ),
        where=_points_balance,
        ranges=(("min_points", "max_points"),),
        one_of=("min_points", "max_points"),
    )
)
register(
    ConditionSpec(
        key="challenge_joined",
        label_key="tags.cond.challenge_joined",
        params=(Param("challenge_id", "ref", required=False, ref=Challenge),),
        where=_challenge(completed=False),
    )
)
register(
    ConditionSpec(
        key="challenge_completed",
        label_key="tags.cond.challenge_completed",
        params=(Param("challenge_id", "ref", required=False, ref=Challenge),),
        where=_challenge(completed=True),
    )
)
