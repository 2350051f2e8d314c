"""The rewards catalog and coupons (积分兑换, 优惠券).

Admins (``MEMBERS_MANAGE``) keep a catalog of rewards bought with points: a
package coupon (a named package free, or for ``cash_fen``: points + cash), a
discount coupon (``discount_fen`` or ``discount_percent`` off an order of at
least ``min_spend_fen``) or a gift handed over at the front desk.

Redeeming is one transaction: the patient's points account row lock first
(``points.lock_account``: it serialises this patient, so the per-patient limit
and the balance are checked against settled numbers), then the reward's stock
with one conditional UPDATE (``redeemed_count < stock``: concurrent patients
never take more than the stock), then the ledger entry (``points.redeem``) and
the coupon. Any refusal raises before the commit, so nothing is half-written.
The same idempotency key from the same patient returns the same coupon.

A coupon is used once: at the mall checkout (``orders.checkout(...,
coupon_code=...)``, priced by ``price_order``) or at the front desk
(``redeem_gift``), both with a conditional UPDATE on ``status = 'issued'``. A
coupon past ``expires_at`` is refused everywhere. Another tenant's or another
patient's code gets the same message as an unknown one.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any, Required, TypedDict, Unpack, cast

from sqlalchemy import func, or_
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from prm_saas.accounts.authz import Permission, Principal, require_patient, require_staff
from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record
from prm_saas.booking.schedule import tenant_zone, write_lock
from prm_saas.mall.models import HealthPackage
from prm_saas.mall.money import check_yuan, fen_to_yuan_text
from prm_saas.mall.pricing import PricedPackage, PriceLine, package_for_booking
from prm_saas.membership import points
from prm_saas.membership.models import (
    Coupon,
    CouponStatus,
    MemberCard,
    MembershipLevel,
    Reward,
    RewardKind,
)
from prm_saas.orders.models import OrderLine
from prm_saas.validation import Checker
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors
from tenants.lookup import get_or_404
from tenants.types import utcnow

KEY_MAX = 64
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a desk
CODE_LEN = 10
_CODE_RE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LEN}}}$")
MAX_STOCK = 1_000_000
MAX_LIMIT = 1000
MAX_VALID_DAYS = 3650
REASON_MAX = 200
LIST_LIMIT = 500


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


# --- views ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RewardRow:
    """A reward as the admin sees and edits it (money also as yuan text)."""

    id: int
    kind: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    points_cost: int
    package_id: int | None
    package_name_zh: str
    package_name_en: str
    cash_fen: int
    cash_yuan: str
    discount_fen: int
    discount_yuan: str
    discount_percent: int
    min_spend_fen: int
    min_spend_yuan: str
    stock: int | None  # None: unlimited
    redeemed_count: int
    stock_left: int | None  # None: unlimited
    per_patient_limit: int | None  # None: unlimited
    coupon_valid_days: int
    active: bool


@dataclass(frozen=True)
class RewardCard:
    """A reward in the patient's catalog, with what stands in the way."""

    id: int
    kind: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    points_cost: int
    package_id: int | None
    package_name_zh: str
    package_name_en: str
    cash_fen: int
    discount_fen: int
    discount_percent: int
    min_spend_fen: int
    stock_left: int | None  # None: unlimited
    per_patient_limit: int | None
    redeemed_by_me: int
    coupon_valid_days: int
    affordable: bool  # the patient's spendable points cover the cost
    limit_reached: bool  # the patient has redeemed it per_patient_limit times


@dataclass(frozen=True)
class CouponView:
    """A coupon as the patient, the admin or the front desk sees it. ``status`` is
    ``issued``, ``used``, ``void`` or ``expired`` (issued but past ``expires_at``)."""

    id: int
    code: str
    code_display: str  # grouped for reading aloud / printing: "ABCDE-FGHJK"
    reward_id: int
    kind: str
    name_zh: str
    name_en: str
    status: str
    usable: bool
    points_cost: int
    package_id: int | None
    package_name_zh: str
    package_name_en: str
    cash_fen: int
    discount_fen: int
    discount_percent: int
    min_spend_fen: int
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    order_id: int | None
    void_reason: str
    patient_id: int
    patient_name: str


@dataclass(frozen=True)
class Quote:
    """An order's price with its discounts: the package and add-on lines, then a
    negative ``coupon`` line and a negative ``member`` line (the level's discount)
    when they apply. ``total_fen`` is what the patient pays."""

    lines: list[PriceLine]
    subtotal_fen: int
    coupon_discount_fen: int
    member_discount_fen: int
    total_fen: int
    coupon_id: int | None
    coupon_code: str
    member_discount_percent: int


# --- helpers -------------------------------------------------------------------------


def _packages(session: TenantSession, ids: set[int]) -> dict[int, HealthPackage]:
    if not ids:
        return {}
    rows = session.exec(select(HealthPackage).where(col(HealthPackage.id).in_(ids))).all()
    return {p.id: p for p in rows if p.id is not None}


def _stock_left(r: Reward) -> int | None:
    return None if r.stock is None else max(0, r.stock - r.redeemed_count)


def _reward_row(r: Reward, pkg: HealthPackage | None) -> RewardRow:
    assert r.id is not None
    return RewardRow(
        id=r.id,
        kind=str(r.kind),
        name_zh=r.name_zh,
        name_en=r.name_en,
        description_zh=r.description_zh,
        description_en=r.description_en,
        points_cost=r.points_cost,
        package_id=r.package_id,
        package_name_zh=pkg.name_zh if pkg else "",
        package_name_en=pkg.name_en if pkg else "",
        cash_fen=r.cash_fen,
        cash_yuan=fen_to_yuan_text(r.cash_fen),
        discount_fen=r.discount_fen,
        discount_yuan=fen_to_yuan_text(r.discount_fen),
        discount_percent=r.discount_percent,
        min_spend_fen=r.min_spend_fen,
        min_spend_yuan=fen_to_yuan_text(r.min_spend_fen),
        stock=r.stock,
        redeemed_count=r.redeemed_count,
        stock_left=_stock_left(r),
        per_patient_limit=r.per_patient_limit,
        coupon_valid_days=r.coupon_valid_days,
        active=r.active,
    )


def _is_usable(c: Coupon, now: datetime) -> bool:
    return c.status == CouponStatus.ISSUED and c.expires_at > now


def _coupon_view(
    c: Coupon, now: datetime, pkg: HealthPackage | None, patient: Patient | None
) -> CouponView:
    assert c.id is not None
    status = str(c.status)
    if c.status == CouponStatus.ISSUED and c.expires_at <= now:
        status = "expired"
    return CouponView(
        id=c.id,
        code=c.code,
        code_display=display_code(c.code),
        reward_id=c.reward_id,
        kind=str(c.kind),
        name_zh=c.name_zh,
        name_en=c.name_en,
        status=status,
        usable=_is_usable(c, now),
        points_cost=c.points_cost,
        package_id=c.package_id,
        package_name_zh=pkg.name_zh if pkg else "",
        package_name_en=pkg.name_en if pkg else "",
        cash_fen=c.cash_fen,
        discount_fen=c.discount_fen,
        discount_percent=c.discount_percent,
        min_spend_fen=c.min_spend_fen,
        issued_at=c.issued_at,
        expires_at=c.expires_at,
        used_at=c.used_at,
        order_id=c.order_id,
        void_reason=c.void_reason,
        patient_id=c.patient_id,
        patient_name=patient.name if patient else "",
    )


def _coupon_views(session: TenantSession, rows: list[Coupon], now: datetime) -> list[CouponView]:
    pkgs = _packages(session, {c.package_id for c in rows if c.package_id is not None})
    pids = {c.patient_id for c in rows}
    patients = (
        {p.id: p for p in session.exec(select(Patient).where(col(Patient.id).in_(pids))).all()}
        if pids
        else {}
    )
    return [
        _coupon_view(
            c, now, pkgs.get(c.package_id) if c.package_id else None, patients.get(c.patient_id)
        )
        for c in rows
    ]


def normalize_code(code: object) -> str:
    """A code as typed (any case, spaces, dashes, full-width) in its stored form, or
    "" if it cannot be a code."""
    if not isinstance(code, str):
        return ""
    v = unicodedata.normalize("NFKC", code).upper()
    v = re.sub(r"[\s\-]", "", v)
    return v if _CODE_RE.match(v) else ""


def display_code(code: str) -> str:
    """A code in two groups of five for reading and printing (any grouping is
    accepted back by ``normalize_code``)."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}" if len(code) == CODE_LEN else code


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LEN))


def _coupon_by_code(session: TenantSession, code: object) -> Coupon | None:
    clean = normalize_code(code)
    if not clean:
        return None
    return session.exec(
        select(Coupon).where(col(Coupon.code) == clean).execution_options(populate_existing=True)
    ).first()


def _usable_or_raise(c: Coupon, now: datetime) -> None:
    if c.status == CouponStatus.VOID:
        raise DomainError("coupon.void")
    if c.status == CouponStatus.USED:
        raise DomainError("coupon.used")
    if c.expires_at <= now:
        raise DomainError("coupon.expired")


def coupon_expiry(session: TenantSession, *, issued_at: datetime, valid_days: int) -> datetime:
    """When a coupon issued at ``issued_at`` stops being valid: the tenant's local
    midnight ``valid_days`` days after the day of issue (so 30 days counts the day
    of issue as the first)."""
    tz = tenant_zone(session)
    day = issued_at.astimezone(tz).date() + timedelta(days=valid_days)
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(issued_at.tzinfo)


# --- admin: the catalog --------------------------------------------------------------------


def _admin(session: TenantSession, actor: Principal | None) -> Principal:
    return require_staff(session, actor, Permission.MEMBERS_MANAGE)


def _int_field(
    c: Checker, name: str, value: object, *, lo: int, hi: int, optional: bool = False
) -> int | None:
    """An integer form value in [lo, hi]; "" is None when ``optional``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        c.fail(name, "field.required")
        return None
    if isinstance(value, bool):
        c.fail(name, "rewards.number_invalid", min=lo, max=hi)
        return None
    if isinstance(value, int):
        n = value
    else:
        text = unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else ""
        if not re.fullmatch(r"-?[0-9]{1,9}", text):
            c.fail(name, "rewards.number_invalid", min=lo, max=hi)
            return None
        n = int(text)
    if not lo <= n <= hi:
        c.fail(name, "rewards.number_invalid", min=lo, max=hi)
        return None
    return n


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("on", "true", "1", "yes")
    return value is True


def _text(c: Checker, name: str, value: object, max_len: int, required: bool = False) -> str:
    return c.text(name, value if isinstance(value, str) else "", max_len=max_len, required=required)


class RewardForm(TypedDict, total=False):
    """The reward form as the admin page sends it (values may be text: handlers
    are a public API); create and update take the same fields."""

    kind: Required[object]
    name_zh: Required[object]
    points_cost: Required[object]
    name_en: object
    description_zh: object
    description_en: object
    package_id: object
    cash_yuan: object
    discount_yuan: object
    discount_percent: object
    min_spend_yuan: object
    stock: object
    per_patient_limit: object
    coupon_valid_days: object
    active: object


_FORM_DEFAULTS: dict[str, object] = {
    "name_en": "",
    "description_zh": "",
    "description_en": "",
    "package_id": None,
    "cash_yuan": "",
    "discount_yuan": "",
    "discount_percent": "",
    "min_spend_yuan": "",
    "stock": "",
    "per_patient_limit": "",
    "coupon_valid_days": "30",
    "active": True,
}


def _apply_form(session: TenantSession, reward: Reward, form: RewardForm) -> None:
    """Check every field of the reward form, then (only if all are fine) set them."""
    f = {**_FORM_DEFAULTS, **form}
    kind, name_zh, name_en = f["kind"], f["name_zh"], f["name_en"]
    description_zh, description_en = f["description_zh"], f["description_en"]
    points_cost, package_id, cash_yuan = f["points_cost"], f["package_id"], f["cash_yuan"]
    discount_yuan, discount_percent = f["discount_yuan"], f["discount_percent"]
    min_spend_yuan, stock, per_patient_limit = (
        f["min_spend_yuan"],
        f["stock"],
        f["per_patient_limit"],
    )
    coupon_valid_days, active = f["coupon_valid_days"], f["active"]
    c = Checker()
    try:
        k = RewardKind(str(kind))
    except ValueError:
        c.fail("kind", "rewards.kind_invalid")
        k = RewardKind.GIFT
    zh = _text(c, "name_zh", name_zh, 80, True)
    en = _text(c, "name_en", name_en, 80)
    dzh = _text(c, "description_zh", description_zh, 1000)
    den = _text(c, "description_en", description_en, 1000)
    cost = _int_field(c, "points_cost", points_cost, lo=1, hi=points.MAX_POINTS)
    pkg_id: int | None = None
    cash = discount = percent = min_spend = 0
    if k == RewardKind.PACKAGE_COUPON:
        pkg_id = _int_field(c, "package_id", package_id, lo=1, hi=2**31 - 1)
        if "package_id" in c.errors:
            c.errors["package_id"] = ("rewards.package_required", {})
        elif not _packages(session, {pkg_id} if pkg_id is not None else set()):
            c.fail("package_id", "rewards.package_required")  # also another tenant's
        cash = check_yuan(c, "cash", cash_yuan, required=False)
    elif k == RewardKind.DISCOUNT_COUPON:
        has_fen = isinstance(discount_yuan, str) and discount_yuan.strip() not in ("", "0")
        has_pct = discount_percent not in (None, "", 0, "0")
        if has_fen == has_pct:
            c.fail("discount", "rewards.discount_one")
        elif has_fen:
            discount = check_yuan(c, "discount", discount_yuan)
            if "discount" not in c.errors and discount <= 0:
                c.fail("discount", "rewards.discount_one")
        else:
            percent = _int_field(c, "discount_percent", discount_percent, lo=1, hi=100) or 0
        min_spend = check_yuan(c, "min_spend", min_spend_yuan, required=False)
    else:
        cash = check_yuan(c, "cash", cash_yuan, required=False)
    stock_n = _int_field(c, "stock", stock, lo=0, hi=MAX_STOCK, optional=True)
    if stock_n is not None and stock_n < reward.redeemed_count and "stock" not in c.errors:
        c.fail("stock", "rewards.stock_below_redeemed", redeemed=reward.redeemed_count)
    limit = _int_field(c, "per_patient_limit", per_patient_limit, lo=1, hi=MAX_LIMIT, optional=True)
    days = _int_field(c, "coupon_valid_days", coupon_valid_days, lo=1, hi=MAX_VALID_DAYS)
    c.raise_if_any()
    assert cost is not None
    assert days is not None
    reward.kind, reward.name_zh, reward.name_en = k, zh, en
    reward.description_zh, reward.description_en = dzh, den
    reward.points_cost, reward.package_id = cost, pkg_id
    reward.cash_fen, reward.discount_fen, reward.discount_percent = cash, discount, percent
    reward.min_spend_fen = min_spend
    reward.stock, reward.per_patient_limit, reward.coupon_valid_days = stock_n, limit, days
    reward.active = _bool(active)


def _row_of(session: TenantSession, r: Reward) -> RewardRow:
    pkg = session.get(HealthPackage, r.package_id) if r.package_id else None
    return _reward_row(r, pkg)


def list_rewards(*, session: TenantSession, actor: Principal | None) -> list[RewardRow]:
    """Every reward of the tenant (active or not), newest first."""
    _admin(session, actor)
    rows = list(session.exec(select(Reward).order_by(col(Reward.id).desc())).all())
    pkgs = _packages(session, {r.package_id for r in rows if r.package_id is not None})
    return [_reward_row(r, pkgs.get(r.package_id) if r.package_id else None) for r in rows]


def create_reward(
    *,
    session: TenantSession,
    actor: Principal | None,
    now: datetime | None = None,
    ip: str = "",
    **form: Unpack[RewardForm],
) -> RewardRow:
    """A new reward (``MEMBERS_MANAGE``); audited. Money arrives as yuan text,
    counts as text or int; "" stock / limit means unlimited. Every bad field is
    reported at once (``FieldErrors``) and nothing is written."""
    staff = _admin(session, actor)
    at = _now(now)
    reward = Reward(kind=RewardKind.GIFT, name_zh="", points_cost=1, created_at=at, updated_at=at)
    _apply_form(session, reward, form)
    session.add(reward)
    session.flush()
    row = _row_of(session, reward)
    record(
        session,
        actor=staff,
        action="rewards.created",
        target_type="reward",
        target_id=reward.id,
        ip=ip,
        details=_audit_terms(reward),
    )
    return row


def _audit_terms(r: Reward) -> dict[str, object]:
    return {
        "kind": str(r.kind),
        "name": r.name_zh,
        "points_cost": r.points_cost,
        "package_id": r.package_id,
        "cash_fen": r.cash_fen,
        "discount_fen": r.discount_fen,
        "discount_percent": r.discount_percent,
        "min_spend_fen": r.min_spend_fen,
        "stock": r.stock,
        "per_patient_limit": r.per_patient_limit,
        "coupon_valid_days": r.coupon_valid_days,
        "active": r.active,
    }


def _lock_reward(session: TenantSession, reward_id: object) -> Reward:
    found = get_or_404(session, Reward, reward_id)
    write_lock(session)
    return session.exec(
        select(Reward)
        .where(col(Reward.id) == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def update_reward(
    *,
    session: TenantSession,
    actor: Principal | None,
    reward_id: object,
    now: datetime | None = None,
    ip: str = "",
    **form: Unpack[RewardForm],
) -> RewardRow:
    """Change a reward (``MEMBERS_MANAGE``); audited with before and after. Coupons
    already issued keep the terms they were redeemed under. The stock cannot go
    below what was already redeemed."""
    staff = _admin(session, actor)
    reward = _lock_reward(session, reward_id)
    before = _audit_terms(reward)
    _apply_form(session, reward, form)
    reward.updated_at = _now(now)
    session.add(reward)
    session.flush()
    record(
        session,
        actor=staff,
        action="rewards.updated",
        target_type="reward",
        target_id=reward.id,
        ip=ip,
        details={"before": before, "after": _audit_terms(reward)},
    )
    return _row_of(session, reward)


def set_reward_active(
    *,
    session: TenantSession,
    actor: Principal | None,
    reward_id: object,
    active: object,
    now: datetime | None = None,
    ip: str = "",
) -> RewardRow:
    """Show or hide a reward in the patients' catalog (``MEMBERS_MANAGE``); audited.
    Coupons already issued stay valid."""
    staff = _admin(session, actor)
    reward = _lock_reward(session, reward_id)
    reward.active = _bool(active)
    reward.updated_at = _now(now)
    session.add(reward)
    session.flush()
    record(
        session,
        actor=staff,
        action="rewards.activated" if reward.active else "rewards.deactivated",
        target_type="reward",
        target_id=reward.id,
        ip=ip,
    )
    return _row_of(session, reward)


def list_coupons(
    *,
    session: TenantSession,
    actor: Principal | None,
    now: datetime,
    reward_id: object = None,
    patient_id: object = None,
    query: str = "",
    limit: int = 200,
) -> list[CouponView]:
    """Issued coupons for the admin (``MEMBERS_MANAGE``), newest first; by reward,
    by patient, or matching a code or the patient's name or phone."""
    _admin(session, actor)
    stmt = select(Coupon).join(Patient, col(Patient.id) == col(Coupon.patient_id))
    if reward_id not in (None, ""):
        stmt = stmt.where(col(Coupon.reward_id) == get_or_404(session, Reward, reward_id).id)
    if patient_id not in (None, ""):
        stmt = stmt.where(col(Coupon.patient_id) == get_or_404(session, Patient, patient_id).id)
    q = str(query or "").strip()[:60]
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        code = normalize_code(q)
        stmt = stmt.where(
            or_(
                col(Coupon.code) == code,
                col(Patient.name).like(like),
                col(Patient.phone).like(like),
            )
        )
    rows = list(
        session.exec(
            stmt.order_by(col(Coupon.id).desc()).limit(max(1, min(int(limit), LIST_LIMIT)))
        ).all()
    )
    return _coupon_views(session, rows, now)


def void_coupon(
    *,
    session: TenantSession,
    actor: Principal | None,
    coupon_id: object,
    reason: object,
    now: datetime,
    ip: str = "",
) -> CouponView:
    """Void an unused coupon (``MEMBERS_MANAGE``) with a reason; audited. The points
    are not given back (an adjustment does that, if the clinic wants to)."""
    staff = _admin(session, actor)
    why = reason.strip() if isinstance(reason, str) else ""
    if not why:
        raise FieldErrors.single("reason", "points.reason_required")
    if len(why) > REASON_MAX:
        raise FieldErrors.single("reason", "points.reason_too_long", max=REASON_MAX)
    found = get_or_404(session, Coupon, coupon_id)
    write_lock(session)
    result = session.exec(
        update(Coupon)
        .where(col(Coupon.id) == found.id, col(Coupon.status) == CouponStatus.ISSUED)
        .values(status=CouponStatus.VOID, void_reason=why, voided_by_staff_id=staff.id)
        .execution_options(synchronize_session=False)
    )
    coupon = session.exec(
        select(Coupon).where(col(Coupon.id) == found.id).execution_options(populate_existing=True)
    ).one()
    if _rowcount(result) != 1:
        _usable_or_raise(coupon, now)  # used or already void: say which
    record(
        session,
        actor=staff,
        action="coupon.voided",
        target_type="coupon",
        target_id=coupon.id,
        ip=ip,
        details={"code": coupon.code, "reason": why, "patient_id": coupon.patient_id},
    )
    return _coupon_views(session, [coupon], now)[0]


# --- patients: the catalog, redeeming, my coupons -------------------------------------------


def _mine_by_reward(session: TenantSession, patient_id: int) -> dict[int, int]:
    """How many coupons (not void) the patient holds per reward."""
    rows = session.exec(
        select(Coupon.reward_id, func.count(col(Coupon.id)))
        .where(col(Coupon.patient_id) == patient_id, col(Coupon.status) != CouponStatus.VOID)
        .group_by(col(Coupon.reward_id))
    ).all()
    return {int(rid): int(n) for rid, n in rows}


def rewards_catalog(
    *, session: TenantSession, actor: Principal | None, now: datetime
) -> list[RewardCard]:
    """The active rewards in stock (a package coupon only while its package is
    published), cheapest first, with whether the patient can afford each and
    whether their per-patient limit is reached."""
    me = require_patient(session, actor)
    rows = list(
        session.exec(
            select(Reward)
            .where(
                col(Reward.active),
                or_(col(Reward.stock).is_(None), col(Reward.redeemed_count) < col(Reward.stock)),
            )
            .order_by(col(Reward.points_cost), col(Reward.id))
        ).all()
    )
    pkgs = _packages(session, {r.package_id for r in rows if r.package_id is not None})
    spendable = points.spendable(session, actor=me, patient_id=me.id, now=now)
    mine = _mine_by_reward(session, me.id)
    out: list[RewardCard] = []
    for r in rows:
        assert r.id is not None
        pkg = pkgs.get(r.package_id) if r.package_id else None
        if r.kind == RewardKind.PACKAGE_COUPON and (pkg is None or not pkg.published):
            continue
        n = mine.get(r.id, 0)
        out.append(
            RewardCard(
                id=r.id,
                kind=str(r.kind),
                name_zh=r.name_zh,
                name_en=r.name_en,
                description_zh=r.description_zh,
                description_en=r.description_en,
                points_cost=r.points_cost,
                package_id=r.package_id,
                package_name_zh=pkg.name_zh if pkg else "",
                package_name_en=pkg.name_en if pkg else "",
                cash_fen=r.cash_fen,
                discount_fen=r.discount_fen,
                discount_percent=r.discount_percent,
                min_spend_fen=r.min_spend_fen,
                stock_left=_stock_left(r),
                per_patient_limit=r.per_patient_limit,
                redeemed_by_me=n,
                coupon_valid_days=r.coupon_valid_days,
                affordable=spendable >= r.points_cost,
                limit_reached=r.per_patient_limit is not None and n >= r.per_patient_limit,
            )
        )
    return out


def _clean_key(value: object) -> str:
    key = value.strip() if isinstance(value, str) else ""
    if not key or len(key) > KEY_MAX:
        raise DomainError("points.key_invalid")
    return key


def redeem_reward(
    *,
    session: TenantSession,
    actor: Principal | None,
    reward_id: object,
    idempotency_key: str,
    now: datetime,
) -> Coupon:
    """The patient spends points on a reward and gets a coupon, all or nothing.

    Refusals: ``rewards.unavailable`` (inactive, or a package coupon whose package
    is no longer sold), ``rewards.limit_reached``, ``points.insufficient``,
    ``rewards.out_of_stock``. The same key (per patient) returns the same coupon.
    """
    me = require_patient(session, actor)
    key = _clean_key(idempotency_key)
    idem = f"redeem:{me.id}:{key}"
    reward = get_or_404(session, Reward, reward_id)
    assert reward.id is not None
    points.lock_account(session, me.id)  # this patient's redemptions, one at a time
    first = session.exec(select(Coupon).where(col(Coupon.idempotency_key) == idem)).first()
    if first is not None:
        if first.reward_id != reward.id:
            raise DomainError("points.key_reused")
        return first
    reward = session.exec(
        select(Reward).where(col(Reward.id) == reward.id).execution_options(populate_existing=True)
    ).one()
    assert reward.id is not None
    if not reward.active:
        raise DomainError("rewards.unavailable")
    if reward.kind == RewardKind.PACKAGE_COUPON:
        pkg = _packages(session, {reward.package_id} if reward.package_id else set())
        if not pkg or not next(iter(pkg.values())).published:
            raise DomainError("rewards.unavailable")
    if reward.per_patient_limit is not None:
        held = _mine_by_reward(session, me.id).get(reward.id, 0)
        if held >= reward.per_patient_limit:
            raise DomainError("rewards.limit_reached", limit=reward.per_patient_limit)
    if reward.stock is not None and reward.redeemed_count >= reward.stock:
        raise DomainError("rewards.out_of_stock")  # the UPDATE below decides under races
    # One savepoint: whatever refuses below leaves neither the entry nor the stock taken,
    # even if a caller catches the error and commits.
    with session.begin_nested():
        entry = points.redeem(
            session,
            actor=me,
            patient_id=me.id,
            points=reward.points_cost,
            reason=reward.name_zh[:200],  # the note the patient reads; the id is the source
            source=points.Source("reward", str(reward.id)),
            idempotency_key=idem,
            now=now,
        )
        taken = session.exec(
            update(Reward)
            .where(
                col(Reward.id) == reward.id,
                col(Reward.active),
                or_(col(Reward.stock).is_(None), col(Reward.redeemed_count) < col(Reward.stock)),
            )
            .values(redeemed_count=col(Reward.redeemed_count) + 1)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(taken) != 1:
            raise DomainError("rewards.out_of_stock")
        coupon = _insert_coupon(
            session,
            {
                "patient_id": me.id,
                "reward_id": reward.id,
                "kind": reward.kind,
                "name_zh": reward.name_zh,
                "name_en": reward.name_en,
                "points_cost": reward.points_cost,
                "package_id": reward.package_id,
                "cash_fen": reward.cash_fen,
                "discount_fen": reward.discount_fen,
                "discount_percent": reward.discount_percent,
                "min_spend_fen": reward.min_spend_fen,
                "issued_at": now,
                "expires_at": coupon_expiry(
                    session, issued_at=now, valid_days=reward.coupon_valid_days
                ),
                "points_entry_id": entry.id,
                "idempotency_key": idem,
            },
        )
    record(
        session,
        actor=me,
        action="rewards.redeemed",
        target_type="coupon",
        target_id=coupon.id,
        details={"reward_id": reward.id, "points": reward.points_cost, "code": coupon.code},
    )
    return coupon


def _insert_coupon(session: TenantSession, fields: dict[str, Any]) -> Coupon:
    """Insert with a fresh random code, retrying the rare clash with another code
    (the idempotency key cannot clash: this patient's account lock is held)."""
    for _attempt in range(8):
        coupon = Coupon(code=_new_code(), **fields)
        try:
            with session.begin_nested():
                session.add(coupon)
                session.flush()
            return coupon
        except IntegrityError:
            continue
    raise DomainError("error.generic")


def my_coupons(
    *, session: TenantSession, actor: Principal | None, now: datetime
) -> list[CouponView]:
    """The signed-in patient's coupons: usable ones first (soonest expiry first),
    then the rest, newest first."""
    me = require_patient(session, actor)
    rows = list(
        session.exec(
            select(Coupon).where(col(Coupon.patient_id) == me.id).order_by(col(Coupon.id).desc())
        ).all()
    )
    usable = sorted((c for c in rows if _is_usable(c, now)), key=lambda c: (c.expires_at, c.id))
    rest = [c for c in rows if not _is_usable(c, now)]
    return _coupon_views(session, usable + rest, now)


# --- front desk: gifts ----------------------------------------------------------------------


def lookup_coupon(
    *, session: TenantSession, actor: Principal | None, code: object, now: datetime
) -> CouponView:
    """What a code is (``FRONT_DESK``): the desk reads it before handing a gift over.
    An unknown code or another tenant's: ``coupon.unknown``."""
    require_staff(session, actor, Permission.FRONT_DESK)
    coupon = _coupon_by_code(session, code)
    if coupon is None:
        raise DomainError("coupon.unknown")
    return _coupon_views(session, [coupon], now)[0]


def redeem_gift(
    *, session: TenantSession, actor: Principal | None, code: object, now: datetime
) -> Coupon:
    """The front desk hands over the gift of a coupon (``FRONT_DESK``) and marks it
    used, once (conditional UPDATE on ``issued``); audited. A mall coupon here is
    ``coupon.not_gift``; used, void or expired ones say so."""
    staff = require_staff(session, actor, Permission.FRONT_DESK)
    coupon = _coupon_by_code(session, code)
    if coupon is None:
        raise DomainError("coupon.unknown")
    if coupon.kind != RewardKind.GIFT:
        raise DomainError("coupon.not_gift")
    _usable_or_raise(coupon, now)
    write_lock(session)
    result = session.exec(
        update(Coupon)
        .where(
            col(Coupon.id) == coupon.id,
            col(Coupon.status) == CouponStatus.ISSUED,
            col(Coupon.expires_at) > now,
        )
        .values(status=CouponStatus.USED, used_at=now, used_by_staff_id=staff.id)
        .execution_options(synchronize_session=False)
    )
    coupon = session.exec(
        select(Coupon).where(col(Coupon.id) == coupon.id).execution_options(populate_existing=True)
    ).one()
    if _rowcount(result) != 1:
        _usable_or_raise(coupon, now)
        raise DomainError("coupon.used")
    record(
        session,
        actor=staff,
        action="coupon.gift_handed_over",
        target_type="coupon",
        target_id=coupon.id,
        details={"code": coupon.code, "patient_id": coupon.patient_id, "cash_fen": coupon.cash_fen},
    )
    return coupon


# --- checkout: pricing with a coupon and the member level -----------------------------------


def _member_level(session: TenantSession, patient_id: int) -> MembershipLevel | None:
    return session.exec(
        select(MembershipLevel)
        .join(MemberCard, col(MemberCard.level_id) == col(MembershipLevel.id))
        .where(col(MemberCard.patient_id) == patient_id, col(MembershipLevel.active))
    ).first()


def price_order(
    session: TenantSession,
    *,
    patient_id: int,
    priced: PricedPackage,
    coupon_code: object,
    now: datetime,
) -> Quote:
    """The mall's price with the patient's coupon (if a code is given) and their
    level's discount, as negative lines. Reads only (``take_coupon`` consumes the
    coupon in the checkout's transaction).

    A package coupon makes its package cost ``cash_fen`` (add-ons are paid as
    usual) and is not combined with the level discount; a discount coupon takes
    ``discount_fen`` (at most the subtotal) or ``discount_percent`` off a subtotal
    of at least ``min_spend_fen``; the level's ``discount_percent`` then applies
    to what is left. Refusals: ``coupon.unknown`` (also another patient's or
    tenant's code), ``coupon.used``, ``coupon.void``, ``coupon.expired``,
    ``coupon.not_applicable``, ``coupon.min_spend``.
    """
    lines = list(priced.lines)
    subtotal = sum(line.amount_fen for line in lines)
    coupon: Coupon | None = None
    coupon_off = 0
    fixed_price = False
    typed = coupon_code.strip() if isinstance(coupon_code, str) else ""
    if typed:
        coupon = _coupon_by_code(session, typed)
        if coupon is None or coupon.patient_id != patient_id:
            raise DomainError("coupon.unknown")
        _usable_or_raise(coupon, now)
        if coupon.kind == RewardKind.PACKAGE_COUPON:
            if coupon.package_id != priced.package.id:
                raise DomainError("coupon.not_applicable")
            package_fen = sum(ln.amount_fen for ln in lines if ln.kind == "package")
            coupon_off = max(0, package_fen - coupon.cash_fen)
            fixed_price = True
        elif coupon.kind == RewardKind.DISCOUNT_COUPON:
            if subtotal < coupon.min_spend_fen:
                raise DomainError("coupon.min_spend", min=fen_to_yuan_text(coupon.min_spend_fen))
            if coupon.discount_percent:
                coupon_off = subtotal * coupon.discount_percent // 100
            else:
                coupon_off = min(subtotal, coupon.discount_fen)
        else:
            raise DomainError("coupon.not_applicable")
        assert coupon.id is not None
        lines.append(
            PriceLine(
                kind="coupon",
                ref_id=coupon.id,
                name=f"优惠券 {coupon.name_zh}"[:120],
                unit_price_fen=-coupon_off,
                quantity=1,
                amount_fen=-coupon_off,
                name_en=f"Coupon {coupon.name_en or coupon.name_zh}"[:120],
            )
        )
    member_off, percent = 0, 0
    level = None if fixed_price else _member_level(session, patient_id)
    if level is not None and level.discount_percent > 0 and level.id is not None:
        percent = level.discount_percent
        member_off = (subtotal - coupon_off) * percent // 100
        if member_off > 0:
            lines.append(
                PriceLine(
                    kind="member",
                    ref_id=level.id,
                    name=f"会员折扣 {level.name_zh} {percent}%"[:120],
                    unit_price_fen=-member_off,
                    quantity=1,
                    amount_fen=-member_off,
                    name_en=f"Member discount {level.name_en or level.name_zh} {percent}%"[:120],
                )
            )
    return Quote(
        lines=lines,
        subtotal_fen=subtotal,
        coupon_discount_fen=coupon_off,
        member_discount_fen=member_off,
        total_fen=max(0, subtotal - coupon_off - member_off),
        coupon_id=coupon.id if coupon else None,
        coupon_code=coupon.code if coupon else "",
        member_discount_percent=percent,
    )


def priced_with(priced: PricedPackage, quote: Quote) -> PricedPackage:
    """The mall's priced package with the quote's lines and total (what the order
    is opened with)."""
    return replace(priced, lines=list(quote.lines), total_fen=quote.total_fen)


def quote(
    *,
    session: TenantSession,
    actor: Principal | None,
    package_id: object,
    location_id: object,
    addon_item_ids: list[int],
    coupon_code: object = "",
    now: datetime,
) -> Quote:
    """What the signed-in patient would pay at checkout for this package at this
    location with these add-ons and this coupon code (the same pricing checkout
    uses). The page shows it before paying; a bad code raises its message."""
    me = require_patient(session, actor)
    if not isinstance(addon_item_ids, list | tuple):
        raise DomainError("mall.addon_unavailable")
    priced = package_for_booking(
        session=session,
        package_id=package_id,  # type: ignore[arg-type]
        location_id=location_id,  # type: ignore[arg-type]
        addon_item_ids=list(addon_item_ids),
    )
    return price_order(session, patient_id=me.id, priced=priced, coupon_code=coupon_code, now=now)


def take_coupon(session: TenantSession, *, coupon_id: int, order_id: int, now: datetime) -> None:
    """Mark the coupon used by the order, once: a conditional UPDATE on ``issued``
    and unexpired, so of two checkouts racing with one coupon only one gets it (the
    other raises ``coupon.used`` and its transaction rolls back)."""
    result = session.exec(
        update(Coupon)
        .where(
            col(Coupon.id) == coupon_id,
            col(Coupon.status) == CouponStatus.ISSUED,
            col(Coupon.expires_at) > now,
        )
        .values(status=CouponStatus.USED, used_at=now, order_id=order_id)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise DomainError("coupon.used")


def give_back_coupon(session: TenantSession, *, order_id: int, now: datetime) -> int | None:
    """An unpaid order expired or was cancelled: its coupon is the patient's again
    (``issued``; one past its expiry then shows as expired and stays unusable).
    Returns the coupon id, or None if the order used none."""
    coupon = session.exec(
        select(Coupon).where(
            col(Coupon.order_id) == order_id, col(Coupon.status) == CouponStatus.USED
        )
    ).first()
    if coupon is None:
        return None
    session.exec(
        update(Coupon)
        .where(col(Coupon.id) == coupon.id, col(Coupon.status) == CouponStatus.USED)
        .values(status=CouponStatus.ISSUED, used_at=None, order_id=None)
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        actor=None,
        action="coupon.returned",
        target_type="coupon",
        target_id=coupon.id,
        details={"order_id": order_id, "code": coupon.code},
    )
    return coupon.id


def retake_coupon(session: TenantSession, *, order_id: int, now: datetime) -> bool:
    """A payment arrived for an order after its coupon was given back (the order
    expired, then a late payment re-seated it): take the coupon again if it is
    still free. False if it was meanwhile used elsewhere or expired."""
    ref = session.exec(
        select(OrderLine.ref_id).where(
            col(OrderLine.order_id) == order_id, col(OrderLine.kind) == "coupon"
        )
    ).first()
    if ref is None:
        return True
    try:
        with session.begin_nested():
            take_coupon(session, coupon_id=int(ref), order_id=order_id, now=now)
    except DomainError:
        return False
    return True


__all__ = [
    "CouponView",
    "Quote",
    "RewardCard",
    "RewardRow",
    "create_reward",
    "display_code",
    "give_back_coupon",
    "list_coupons",
    "list_rewards",
    "lookup_coupon",
    "my_coupons",
    "price_order",
    "quote",
    "redeem_gift",
    "redeem_reward",
    "rewards_catalog",
    "set_reward_active",
    "take_coupon",
    "update_reward",
    "void_coupon",
]
