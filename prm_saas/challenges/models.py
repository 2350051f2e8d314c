"""Challenges, their participants and the daily check-ins.

A check-in belongs to one local day of the tenant's time zone; the unique key
(participant, day) makes "twice in one day" impossible in the database too.
A participant's progress (days counted, streaks, completion) is recomputed from
its check-ins inside the check-in's transaction, under a lock on the
participant's row. ``reward_given`` flips from false to true by a conditional
UPDATE, so a completion is rewarded exactly once.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class ValueKind(enum.StrEnum):
    """What a check-in records."""

    CHECKIN = "checkin"  # just "done today"
    NUMBER = "number"  # one number (steps, kg)
    PAIR = "pair"  # two numbers (blood pressure: systolic / diastolic)


class Comparison(enum.StrEnum):
    """How a number is compared with the day's threshold for the day to count."""

    AT_LEAST = ">="
    AT_MOST = "<="


class StreakRule(enum.StrEnum):
    """What the target counts: consecutive counted days, or counted days in total."""

    CONSECUTIVE = "consecutive"
    TOTAL = "total"


class ChallengeStatus(enum.StrEnum):
    """draft -> published -> closed."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class Challenge(TenantScoped, table=True):
    """A challenge the tenant runs, e.g. "10,000 steps a day for 30 days"."""

    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="ck_challenge_dates"),
        sa.CheckConstraint("target_days > 0", name="ck_challenge_target"),
        sa.CheckConstraint("reward_points >= 0", name="ck_challenge_points"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title_zh: str = Field(max_length=80)
    title_en: str = Field(default="", max_length=80)
    description_zh: str = Field(default="", max_length=1000)
    description_en: str = Field(default="", max_length=1000)
    starts_on: date  # local dates, both inclusive
    ends_on: date
    value_kind: ValueKind = Field(default=ValueKind.CHECKIN, sa_type=sa.String(10))
    unit: str = Field(default="", max_length=20)  # "步", "kg", "mmHg"
    # A day counts when every recorded number passes its threshold (None: any value).
    comparison: Comparison = Field(default=Comparison.AT_LEAST, sa_type=sa.String(2))
    threshold: float | None = None
    threshold2: float | None = None  # second number of a PAIR
    streak_rule: StreakRule = Field(default=StreakRule.TOTAL, sa_type=sa.String(12))
    target_days: int
    reward_points: int = 0
    badge_name: str = Field(default="", max_length=40)
    status: ChallengeStatus = Field(default=ChallengeStatus.DRAFT, sa_type=sa.String(10))
    created_at: datetime = ts_field()


class ChallengeParticipant(TenantScoped, table=True):
    """A patient in a challenge. The leaderboard shows ``nickname`` and nothing else."""

    __tablename__ = "challenge_participant"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "challenge_id", "patient_id", name="uq_challenger"),
        sa.UniqueConstraint("tenant_id", "challenge_id", "nickname", name="uq_challenge_nick"),
    )

    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    nickname: str = Field(max_length=20)
    joined_at: datetime = ts_field()
    days_counted: int = 0
    current_streak: int = 0  # the run of counted days ending at last_counted_on
    best_streak: int = 0
    last_counted_on: date | None = None
    completed_at: datetime | None = ts_field(nullable=True, default_now=False)
    reward_given: bool = False


class ChallengeCheckin(TenantScoped, table=True):
    """One check-in: one per participant per local day."""

    __tablename__ = "challenge_checkin"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "participant_id", "day", name="uq_checkin_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", index=True)
    participant_id: int = Field(foreign_key="challenge_participant.id", index=True)
    day: date  # local date in the tenant's zone
    value: float | None = None
    value2: float | None = None
    counted: bool = False
    created_at: datetime = ts_field()
