"""Member cards, levels and the points ledger (客户开卡, 积分).

The ledger (``points_entry``) is append-only: every change of a balance is one
row (earn, redeem, expire, adjust, reverse) with a signed amount and an
idempotency key unique per tenant. Points come in lots (one per earn) with an
expiry and a return-window lock; spending takes the oldest expiry first. The
balance is kept beside the ledger in ``points_account`` (one row per patient),
updated in the same transaction under that row's lock, and checked against the
ledger sum by ``points.check_account``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class NegativePolicy(enum.StrEnum):
    """What a clawback does when the points it takes back were already spent."""

    ALLOW_NEGATIVE = "allow_negative"  # the balance goes below zero
    FLOOR_ZERO = "floor_zero"  # take back what is there, stop at zero


class MembershipSettings(TenantScoped, table=True):
    """A tenant's membership policy (one row per tenant; defaults if missing)."""

    __tablename__ = "membership_settings"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", name="uq_membership_settings"),
        sa.CheckConstraint(
            "card_digits BETWEEN 4 AND 12 AND card_next >= 1", name="ck_membership_card"
        ),
        sa.CheckConstraint(
            "points_expiry_months >= 1 AND return_window_days >= 0 AND notice_days >= 0",
            name="ck_membership_points",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    card_prefix: str = Field(default="M", max_length=10)
    card_digits: int = 8  # zero-padded sequence: M00000001
    card_next: int = 1  # the next sequence number (taken with an atomic UPDATE)
    points_expiry_months: int = 12
    return_window_days: int = 7  # purchase points are locked this long
    negative_policy: NegativePolicy = Field(
        default=NegativePolicy.FLOOR_ZERO, sa_type=sa.String(20)
    )
    notice_days: int = 30  # pre-expiry notice
    auto_issue_card: bool = True  # self-registration issues the card in the same transaction
    updated_at: datetime = ts_field()


class MembershipLevel(TenantScoped, table=True):
    """A level (普通 / 银卡 / 金卡): reached by points earned or fen spent in a
    rolling 12 months; gives a discount and a points multiplier."""

    __tablename__ = "membership_level"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "rank", name="uq_membership_level_rank"),
        sa.CheckConstraint(
            "rank >= 0 AND min_points_12m >= 0 AND min_spent_fen_12m >= 0 "
            "AND discount_percent BETWEEN 0 AND 100 AND multiplier_percent >= 100",
            name="ck_membership_level",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name_zh: str = Field(max_length=40)
    name_en: str = Field(default="", max_length=40)
    rank: int = 0  # higher is better; rank 0 is the entry level
    min_points_12m: int = 0  # reached with this many points earned in 12 months ...
    min_spent_fen_12m: int = 0  # ... or this much paid (0 = this criterion unused)
    discount_percent: int = 0
    multiplier_percent: int = 100  # 150 = points x1.5
    active: bool = True


class MemberCard(TenantScoped, table=True):
    """A patient's membership card: one per patient per tenant."""

    __tablename__ = "member_card"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number", name="uq_member_card_number"),
        sa.UniqueConstraint("tenant_id", "patient_id", name="uq_member_card_patient"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=30)
    patient_id: int = Field(foreign_key="patient.id")
    level_id: int | None = Field(default=None, foreign_key="membership_level.id")
    issued_at: datetime = ts_field()
    issued_by_staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    self_registered: bool = False
    level_checked_at: datetime | None = ts_field(nullable=True, default_now=False)


class RuleKind(enum.StrEnum):
    """What earns points."""

    PER_YUAN_PAID = "per_yuan_paid"
    CHECKUP_COMPLETED = "checkup_completed"
    QUESTIONNAIRE_COMPLETED = "questionnaire_completed"
    CHALLENGE_COMPLETED = "challenge_completed"
    REFERRAL = "referral"
    BIRTHDAY = "birthday"


class PointsRule(TenantScoped, table=True):
    """An earn rule: ``points`` per event, or per yuan paid for PER_YUAN_PAID."""

    __tablename__ = "points_rule"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "kind", name="uq_points_rule_kind"),
        sa.CheckConstraint("points >= 0", name="ck_points_rule_points"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: RuleKind = Field(sa_type=sa.String(30))
    points: int = 0
    active: bool = True
    updated_at: datetime = ts_field()


class EntryKind(enum.StrEnum):
    """Kinds of ledger entries."""

    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"
    REVERSE = "reverse"


class PointsAccount(TenantScoped, table=True):
    """A patient's balance, kept beside the ledger; its row is the lock every
    change of this patient's points takes first."""

    __tablename__ = "points_account"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "patient_id", name="uq_points_account"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    balance: int = 0  # == sum(points_entry.points) for this patient
    updated_at: datetime = ts_field()


class PointsEntry(TenantScoped, table=True):
    """One ledger line. Rows are only ever inserted."""

    __tablename__ = "points_entry"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_points_entry_idem"),
        sa.Index("ix_points_entry_patient", "tenant_id", "patient_id", "id"),
        sa.Index("ix_points_entry_source", "tenant_id", "source_type", "source_id"),
        sa.Index(
            "ix_points_entry_created",
            "tenant_id",
            "created_at",
            postgresql_include=["kind", "points"],
        ),
    )
    append_only: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    kind: EntryKind = Field(sa_type=sa.String(10))
    points: int  # signed: earn > 0; redeem, expire < 0; adjust, reverse either
    reason: str = Field(default="", max_length=200)
    source_type: str = Field(default="", max_length=30)
    source_id: str = Field(default="", max_length=64)
    lot_id: int | None = Field(default=None, foreign_key="points_lot.id")
    idempotency_key: str = Field(max_length=100)
    created_at: datetime = ts_field()
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff_member.id")


class PointsLot(TenantScoped, table=True):
    """Points from one earn (or positive adjustment): spent oldest-expiry first,
    spendable from ``available_at`` (the return window of a purchase)."""

    __tablename__ = "points_lot"
    __table_args__ = (
        sa.CheckConstraint("remaining >= 0 AND remaining <= points", name="ck_points_lot"),
        sa.Index("ix_points_lot_spend", "tenant_id", "patient_id", "expires_at"),
        sa.Index("ix_points_lot_due", "tenant_id", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    points: int
    remaining: int
    expires_at: datetime = ts_field(default_now=False)
    available_at: datetime = ts_field(default_now=False)
    source_type: str = Field(default="", max_length=30)
    source_id: str = Field(default="", max_length=64)
    created_at: datetime = ts_field()


class RewardKind(enum.StrEnum):
    """What a reward gives."""

    PACKAGE_COUPON = "package_coupon"  # a named package free, or for cash_fen (points + cash)
    DISCOUNT_COUPON = "discount_coupon"  # discount_fen or discount_percent off, min_spend_fen
    GIFT = "gift"  # an item handed over at the front desk (optionally paying cash_fen there)


class Reward(TenantScoped, table=True):
    """An entry of the rewards catalog, bought with points (积分兑换).

    ``stock`` is how many can ever be redeemed (None: unlimited);
    ``redeemed_count`` is taken with one conditional UPDATE per redemption, so
    it never passes the stock."""

    __tablename__ = "reward"
    __table_args__ = (
        sa.CheckConstraint(
            "points_cost >= 1 AND cash_fen >= 0 AND discount_fen >= 0 "
            "AND discount_percent BETWEEN 0 AND 100 AND min_spend_fen >= 0 "
            "AND coupon_valid_days >= 1 AND redeemed_count >= 0",
            name="ck_reward_terms",
        ),
        sa.CheckConstraint(
            "stock IS NULL OR (stock >= 0 AND redeemed_count <= stock)", name="ck_reward_stock"
        ),
        sa.CheckConstraint(
            "per_patient_limit IS NULL OR per_patient_limit >= 1", name="ck_reward_limit"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: RewardKind = Field(sa_type=sa.String(20))
    name_zh: str = Field(max_length=80)
    name_en: str = Field(default="", max_length=80)
    description_zh: str = Field(default="", max_length=1000)
    description_en: str = Field(default="", max_length=1000)
    points_cost: int
    package_id: int | None = Field(default=None, foreign_key="health_package.id")
    cash_fen: int = 0  # package coupon: the price still paid; gift: paid at the desk
    discount_fen: int = 0  # discount coupon: fixed amount off ...
    discount_percent: int = 0  # ... or a percentage off (one of the two)
    min_spend_fen: int = 0  # discount coupon: the order's subtotal at least this
    stock: int | None = None
    redeemed_count: int = 0
    per_patient_limit: int | None = None
    coupon_valid_days: int = 30
    active: bool = True
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class CouponStatus(enum.StrEnum):
    """A coupon's life. Expiry is not a status: a coupon past ``expires_at`` is
    refused wherever it is presented."""

    ISSUED = "issued"
    USED = "used"
    VOID = "void"


class Coupon(TenantScoped, table=True):
    """A redeemed reward: a printable code owned by one patient, with a snapshot of
    the reward's terms, used once (at the mall checkout or the front desk)."""

    __tablename__ = "coupon"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="uq_coupon_code"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_coupon_idem"),
        sa.Index("ix_coupon_patient", "tenant_id", "patient_id", "reward_id"),
        sa.Index("ix_coupon_order", "tenant_id", "order_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20)
    patient_id: int = Field(foreign_key="patient.id")
    reward_id: int = Field(foreign_key="reward.id")
    # The terms as they were when redeemed (the admin may change the reward later).
    kind: RewardKind = Field(sa_type=sa.String(20))
    name_zh: str = Field(max_length=80)
    name_en: str = Field(default="", max_length=80)
    points_cost: int
    package_id: int | None = Field(default=None, foreign_key="health_package.id")
    cash_fen: int = 0
    discount_fen: int = 0
    discount_percent: int = 0
    min_spend_fen: int = 0
    status: CouponStatus = Field(default=CouponStatus.ISSUED, sa_type=sa.String(10))
    issued_at: datetime = ts_field()
    expires_at: datetime = ts_field(default_now=False)
    used_at: datetime | None = ts_field(nullable=True, default_now=False)
    order_id: int | None = Field(default=None, foreign_key="orders.id")  # used in the mall
    used_by_staff_id: int | None = Field(default=None, foreign_key="staff_member.id")  # gift
    points_entry_id: int | None = Field(default=None, foreign_key="points_entry.id")
    void_reason: str = Field(default="", max_length=200)
    voided_by_staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    idempotency_key: str = Field(max_length=100)


class Referral(TenantScoped, table=True):
    """A patient who registered with another patient's card number (推荐). The
    referrer earns the REFERRAL rule once, when the referred patient's first
    order is paid; a full refund of that order takes it back."""

    __tablename__ = "referral"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "referred_patient_id", name="uq_referral_referred"),
        sa.Index("ix_referral_referrer", "tenant_id", "referrer_patient_id"),
        sa.CheckConstraint("referrer_patient_id <> referred_patient_id", name="ck_referral_self"),
    )

    id: int | None = Field(default=None, primary_key=True)
    referrer_patient_id: int = Field(foreign_key="patient.id")
    referred_patient_id: int = Field(foreign_key="patient.id")
    created_at: datetime = ts_field()
    # The referred patient's first paid order (set once, rewarded or not).
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    rewarded_at: datetime | None = ts_field(nullable=True, default_now=False)
    points: int = 0  # what the referrer earned
    reversed_at: datetime | None = ts_field(nullable=True, default_now=False)
