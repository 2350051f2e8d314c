"""Health challenges: the admin defines and publishes them; patients join with a
nickname, check in once per local day, see their progress and a leaderboard of
nicknames; a daily job nudges those who missed yesterday.

Rules:
- A check-in's day is the tenant's local date at ``now``; it must lie within the
  challenge's dates (``challenge.outside_dates``) and be the participant's first
  that day (``challenge.already_checked_in``; also a unique key in the database).
- Progress (days counted, current and best streak) is recomputed from the
  check-ins under a lock on the participant's row (BEGIN IMMEDIATE on SQLite).
- Completion: ``target_days`` counted days in total, or in a row
  (``StreakRule.CONSECUTIVE``). The first check-in that completes sets
  ``completed_at``; ``award_completion`` then flips ``reward_given`` with a
  conditional UPDATE in the same transaction and earns ``reward_points`` in the
  points ledger (or, when the challenge sets none, the tenant's
  CHALLENGE_COMPLETED earn rule, times the level multiplier), so the reward is
  given exactly once.
- A challenge of another tenant, or a draft seen by a patient, is NotFound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from prm_saas.accounts.authz import Permission, Principal, require_patient, require_staff
from prm_saas.accounts.models import Patient, PrincipalKind
from prm_saas.audit.services import record
from prm_saas.booking.schedule import local_today, pk, tenant_zone, write_lock
from prm_saas.challenges.models import (
    Challenge,
    ChallengeCheckin,
    ChallengeParticipant,
    ChallengeStatus,
    Comparison,
    StreakRule,
    ValueKind,
)
from prm_saas.display import masked_phone
from prm_saas.membership.models import RuleKind
from prm_saas.membership.points import MAX_POINTS, Source, award, earn
from prm_saas.messaging.models import Channel, Message
from prm_saas.messaging.outbox import NoAddress, enqueue
from prm_saas.messaging.preferences import messaging_settings
from prm_saas.tags.services import reevaluate_for_patient
from prm_saas.validation import Checker, strip_controls
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors, NotFound
from tenants.lookup import get_or_404
from tenants.models import Tenant

NICKNAME_MAX = 20
MAX_DAYS = 366  # a challenge lasts at most a year
VALUE_MIN = 0.0
VALUE_MAX = 1_000_000.0  # steps in a day fit; anything above is a typo or an attack
POINTS_MAX = MAX_POINTS  # what one ledger entry may move


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


# --- admin: define, publish, close ---------------------------------------------------------


@dataclass(frozen=True)
class ChallengeInput:
    """The admin's challenge form, as the client sent it (validated by the service)."""

    title_zh: str
    starts_on: date | str
    ends_on: date | str
    target_days: int | str
    title_en: str = ""
    description_zh: str = ""
    description_en: str = ""
    value_kind: str = ValueKind.CHECKIN
    unit: str = ""
    comparison: str = Comparison.AT_LEAST
    threshold: float | str | None = None
    threshold2: float | str | None = None
    streak_rule: str = StreakRule.TOTAL
    reward_points: int | str = 0
    badge_name: str = ""


def _date(ck: Checker, field: str, value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        ck.fail(field, "challenge.field.date_invalid")
        return None


def _int(ck: Checker, field: str, value: object, lo: int, hi: int) -> int:
    try:
        if isinstance(value, (bool, float)):
            raise ValueError
        n = int(str(value).strip())
    except (TypeError, ValueError):
        ck.fail(field, "challenge.field.number_invalid", min=lo, max=hi)
        return lo
    if not lo <= n <= hi:
        ck.fail(field, "challenge.field.number_invalid", min=lo, max=hi)
    return n


def _number(value: object) -> float | None:
    """A finite number within bounds, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(x) or not VALUE_MIN <= x <= VALUE_MAX:
        return None
    return x


def _threshold(ck: Checker, field: str, value: object, kind: str, needed: bool) -> float | None:
    blank = value is None or (isinstance(value, str) and not value.strip())
    if blank:
        return None
    if not needed or kind == ValueKind.CHECKIN:
        ck.fail(field, "challenge.field.threshold_not_allowed")
        return None
    x = _number(value)
    if x is None:
        ck.fail(field, "challenge.field.threshold_invalid")
    return x


def _clean(data: ChallengeInput) -> dict[str, Any]:
    ck = Checker()
    out: dict[str, Any] = {
        "title_zh": ck.text("title_zh", data.title_zh, max_len=80),
        "title_en": ck.text("title_en", data.title_en, max_len=80, required=False),
        "description_zh": ck.text(
            "description_zh", data.description_zh, max_len=1000, required=False
        ),
        "description_en": ck.text(
            "description_en", data.description_en, max_len=1000, required=False
        ),
        "unit": ck.text("unit", data.unit, max_len=20, required=False),
        "badge_name": ck.text("badge_name", data.badge_name, max_len=40, required=False),
    }
    kind = ck.choice("value_kind", str(data.value_kind or ""), tuple(ValueKind))
    out["value_kind"] = kind
    out["comparison"] = ck.choice("comparison", str(data.comparison or ""), tuple(Comparison))
    out["streak_rule"] = ck.choice("streak_rule", str(data.streak_rule or ""), tuple(StreakRule))
    out["threshold"] = _threshold(ck, "threshold", data.threshold, kind, True)
    out["threshold2"] = _threshold(ck, "threshold2", data.threshold2, kind, kind == ValueKind.PAIR)
    out["reward_points"] = _int(ck, "reward_points", data.reward_points, 0, POINTS_MAX)
    starts = _date(ck, "starts_on", data.starts_on)
    ends = _date(ck, "ends_on", data.ends_on)
    target = _int(ck, "target_days", data.target_days, 1, MAX_DAYS)
    if starts and ends:
        length = (ends - starts).days + 1
        if length < 1 or length > MAX_DAYS:
            ck.fail("ends_on", "challenge.field.dates_invalid")
        elif target > length:
            ck.fail("target_days", "challenge.field.target_too_long", days=length)
    out.update(starts_on=starts, ends_on=ends, target_days=target)
    ck.raise_if_any()
    return out


def create_challenge(
    *, session: TenantSession, actor: Principal | None, data: ChallengeInput
) -> Challenge:
    """A new challenge, as a draft."""
    actor = require_staff(session, actor, Permission.CHALLENGES_MANAGE)
    challenge = Challenge(**_clean(data))
    session.add(challenge)
    session.flush()
    record(
        session,
        actor=actor,
        action="challenge.create",
        target_type="challenge",
        target_id=pk(challenge),
    )
    return challenge


def update_challenge(
    *, session: TenantSession, actor: Principal | None, challenge_id: int, data: ChallengeInput
) -> Challenge:
    """Change a draft's rules (a published challenge's rules are what patients joined)."""
    actor = require_staff(session, actor, Permission.CHALLENGES_MANAGE)
    challenge = get_or_404(session, Challenge, challenge_id)
    if challenge.status != ChallengeStatus.DRAFT:
        raise DomainError("challenge.not_draft")
    for name, value in _clean(data).items():
        setattr(challenge, name, value)
    session.add(challenge)
    session.flush()
    record(
        session,
        actor=actor,
        action="challenge.update",
        target_type="challenge",
        target_id=pk(challenge),
    )
    return challenge


def _set_status(
    session: TenantSession,
    actor: Principal,
    challenge: Challenge,
    *,
    from_: tuple[ChallengeStatus, ...],
    to: ChallengeStatus,
    error: str,
) -> Challenge:
    result = session.exec(
        update(Challenge)
        .where(col(Challenge.id) == pk(challenge), col(Challenge.status).in_(from_))
        .values(status=to)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise DomainError(error)
    set_committed_value(challenge, "status", to)
    record(
        session,
        actor=actor,
        action=f"challenge.{to.value}",
        target_type="challenge",
        target_id=pk(challenge),
    )
    return challenge


def publish_challenge(
    *, session: TenantSession, actor: Principal | None, challenge_id: int
) -> Challenge:
    """Open a draft to patients."""
    actor = require_staff(session, actor, Permission.CHALLENGES_MANAGE)
    challenge = get_or_404(session, Challenge, challenge_id)
    return _set_status(
        session,
        actor,
        challenge,
        from_=(ChallengeStatus.DRAFT,),
        to=ChallengeStatus.PUBLISHED,
        error="challenge.not_draft",
    )


def close_challenge(
    *, session: TenantSession, actor: Principal | None, challenge_id: int
) -> Challenge:
    """Close a challenge: no more joining or check-ins; the leaderboard stays."""
    actor = require_staff(session, actor, Permission.CHALLENGES_MANAGE)
    challenge = get_or_404(session, Challenge, challenge_id)
    return _set_status(
        session,
        actor,
        challenge,
        from_=(ChallengeStatus.DRAFT, ChallengeStatus.PUBLISHED),
        to=ChallengeStatus.CLOSED,
        error="challenge.already_closed",
    )


@dataclass(frozen=True)
class ChallengeSummary:
    """A row of the admin's challenge list."""

    challenge: Challenge
    participants: int
    completed: int


def list_challenges(*, session: TenantSession, actor: Principal | None) -> list[ChallengeSummary]:
    """Every challenge of the tenant with its participation, newest first."""
    require_staff(session, actor, Permission.CHALLENGES_MANAGE)
    counts = {
        int(cid): (int(n), int(done or 0))
        for cid, n, done in session.exec(
            select(
                ChallengeParticipant.challenge_id,
                func.count(),
                func.count(col(ChallengeParticipant.completed_at)),
            ).group_by(col(ChallengeParticipant.challenge_id))
        ).all()
    }
    rows = session.exec(
        select(Challenge).order_by(col(Challenge.starts_on).desc(), col(Challenge.id).desc())
    )
    return [ChallengeSummary(c, *counts.get(pk(c), (0, 0))) for c in rows.all()]


@dataclass(frozen=True)
class ParticipantRow:
    """A participant as the admin sees them: who, and how far they got."""

    participant_id: int
    nickname: str
    patient_name: str
    patient_phone: str  # masked: 138 **** 5678
    joined_at: datetime
    days_counted: int
    current_streak: int  # 0 once a day was missed after the last counted one
    best_streak: int
    last_counted_on: date | None
    completed_at: datetime | None
    reward_given: bool


@dataclass(frozen=True)
class Participation:
    """A challenge with its participants, for the admin's detail view."""

    challenge: Challenge
    rows: list[ParticipantRow]
    participants: int
    completed: int


PARTICIPANTS_MAX = 500  # one screen; the leaderboard and the counts cover the rest


def participation(
    *,
    session: TenantSession,
    actor: Principal | None,
    challenge_id: int,
    now: datetime,
    limit: int = PARTICIPANTS_MAX,
) -> Participation:
    """A challenge of this tenant (any status) and its participants, furthest first
    (score, then earliest completion, then earliest join); staff see the patient's
    name and a masked phone beside the nickname. Another tenant's challenge is
    NotFound, like a missing one."""
    require_staff(session, actor, Permission.CHALLENGES_MANAGE)
    challenge = get_or_404(session, Challenge, challenge_id)
    today = local_today(now, tenant_zone(session))
    limit = max(1, min(int(limit), PARTICIPANTS_MAX))
    score = (
        col(ChallengeParticipant.best_streak)
        if challenge.streak_rule == StreakRule.CONSECUTIVE
        else col(ChallengeParticipant.days_counted)
    )
    found = session.exec(
        select(ChallengeParticipant, Patient)
        .join(Patient, col(Patient.id) == col(ChallengeParticipant.patient_id))
        .where(ChallengeParticipant.challenge_id == pk(challenge))
        .order_by(
            score.desc(),
            col(ChallengeParticipant.completed_at).is_(None),
            col(ChallengeParticipant.completed_at),
            col(ChallengeParticipant.joined_at),
            col(ChallengeParticipant.id),
        )
        .limit(limit)
    ).all()
    total, done = session.exec(
        select(func.count(), func.count(col(ChallengeParticipant.completed_at))).where(
            ChallengeParticipant.challenge_id == pk(challenge)
        )
    ).one()
    rows = []
    for p, patient in found:
        alive = p.last_counted_on is not None and p.last_counted_on >= today - timedelta(days=1)
        rows.append(
            ParticipantRow(
                participant_id=pk(p),
                nickname=p.nickname,
                patient_name=patient.name,
                patient_phone=masked_phone(patient.phone),
                joined_at=p.joined_at,
                days_counted=p.days_counted,
                current_streak=p.current_streak if alive else 0,
                best_streak=p.best_streak,
                last_counted_on=p.last_counted_on,
                completed_at=p.completed_at,
                reward_given=p.reward_given,
            )
        )
    return Participation(
        challenge=challenge, rows=rows, participants=int(total), completed=int(done or 0)
    )


# --- patients: browse, join ----------------------------------------------------------------


def _visible(session: TenantSession, challenge_id: object) -> Challenge:
    """A challenge patients may see (published or closed); a draft is NotFound."""
    challenge = get_or_404(session, Challenge, challenge_id)
    if challenge.status == ChallengeStatus.DRAFT:
        raise NotFound()
    return challenge


@dataclass(frozen=True)
class ChallengeCard:
    """An open challenge as a patient sees it."""

    challenge: Challenge
    joined: bool


def open_challenges(
    *, session: TenantSession, actor: Principal | None, now: datetime
) -> list[ChallengeCard]:
    """Published challenges not yet over (local today), soonest end first."""
    actor = require_patient(session, actor)
    today = local_today(now, tenant_zone(session))
    mine = set(
        session.exec(
            select(ChallengeParticipant.challenge_id).where(
                ChallengeParticipant.patient_id == actor.id
            )
        ).all()
    )
    rows = session.exec(
        select(Challenge)
        .where(Challenge.status == ChallengeStatus.PUBLISHED, col(Challenge.ends_on) >= today)
        .order_by(col(Challenge.ends_on), col(Challenge.id))
    ).all()
    return [ChallengeCard(c, pk(c) in mine) for c in rows]


def challenge_for_patient(
    *, session: TenantSession, actor: Principal | None, challenge_id: object
) -> ChallengeCard:
    """One challenge a patient may see (published or closed) and whether they joined;
    a draft, another tenant's or a missing one is NotFound."""
    actor = require_patient(session, actor)
    challenge = _visible(session, challenge_id)
    joined = session.exec(
        select(ChallengeParticipant.id).where(
            ChallengeParticipant.challenge_id == pk(challenge),
            ChallengeParticipant.patient_id == actor.id,
        )
    ).first()
    return ChallengeCard(challenge, joined is not None)


def _nickname(value: object) -> str:
    v = strip_controls(str(value or "")).strip() if isinstance(value, str) else ""
    v = " ".join(v.split())
    if not v:
        raise FieldErrors.single("nickname", "challenge.field.nickname_required")
    if len(v) > NICKNAME_MAX:
        raise FieldErrors.single("nickname", "challenge.field.nickname_too_long", max=NICKNAME_MAX)
    return v


def _open_for(challenge: Challenge, day: date) -> None:
    if challenge.status != ChallengeStatus.PUBLISHED:
        raise DomainError("challenge.not_open")
    if not challenge.starts_on <= day <= challenge.ends_on:
        raise DomainError(
            "challenge.outside_dates",
            starts_on=challenge.starts_on.isoformat(),
            ends_on=challenge.ends_on.isoformat(),
            day=day.isoformat(),
        )


def join(
    *,
    session: TenantSession,
    actor: Principal | None,
    challenge_id: int,
    nickname: str,
    now: datetime,
) -> ChallengeParticipant:
    """Join a published challenge once, under a nickname unique in the challenge.

    Joining before the start is allowed; after the end it is ``outside_dates``."""
    actor = require_patient(session, actor)
    challenge = _visible(session, challenge_id)
    nick = _nickname(nickname)
    today = local_today(now, tenant_zone(session))
    if challenge.status != ChallengeStatus.PUBLISHED:
        raise DomainError("challenge.not_open")
    if today > challenge.ends_on:
        _open_for(challenge, today)
    write_lock(session)
    mine = select(ChallengeParticipant).where(
        ChallengeParticipant.challenge_id == pk(challenge),
        ChallengeParticipant.patient_id == actor.id,
    )
    if session.exec(mine).first() is not None:
        raise DomainError("challenge.already_joined")
    taken = select(ChallengeParticipant.id).where(
        ChallengeParticipant.challenge_id == pk(challenge),
        ChallengeParticipant.nickname == nick,
    )
    if session.exec(taken).first() is not None:
        raise FieldErrors.single("nickname", "challenge.field.nickname_taken")
    participant = ChallengeParticipant(
        challenge_id=pk(challenge), patient_id=actor.id, nickname=nick, joined_at=now
    )
    try:
        with session.begin_nested():
            session.add(participant)
            session.flush()
    except IntegrityError:
        # A concurrent join got there first: the same patient, or the same nickname.
        if session.exec(mine).first() is not None:
            raise DomainError("challenge.already_joined") from None
        raise FieldErrors.single("nickname", "challenge.field.nickname_taken") from None
    reevaluate_for_patient(session=session, patient_id=actor.id, now=now)  # tag rules
    return participant


# --- patients: check in, progress ------------------------------------------------------------


def _values(
    challenge: Challenge, values: Sequence[object] | None
) -> tuple[float | None, float | None]:
    """The check-in's numbers for the challenge's value kind, validated."""
    vals = list(values or []) if isinstance(values, (list, tuple)) else []
    if challenge.value_kind == ValueKind.CHECKIN:
        return None, None
    names = ["value", "value2"] if challenge.value_kind == ValueKind.PAIR else ["value"]
    ck = Checker()
    out: list[float | None] = []
    for i, name in enumerate(names):
        raw = vals[i] if i < len(vals) else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            ck.fail(name, "challenge.field.value_required")
            out.append(None)
            continue
        x = _number(raw)
        if x is None:
            ck.fail(name, "challenge.field.value_invalid", min=int(VALUE_MIN), max=int(VALUE_MAX))
        out.append(x)
    ck.raise_if_any()
    return out[0], (out[1] if len(out) > 1 else None)


def day_counts(challenge: Challenge, value: float | None, value2: float | None) -> bool:
    """Whether a check-in with these numbers makes its day count."""
    if challenge.value_kind == ValueKind.CHECKIN:
        return True

    def passes(x: float | None, limit: float | None) -> bool:
        if limit is None:
            return x is not None
        if x is None:
            return False
        return x >= limit if challenge.comparison == Comparison.AT_LEAST else x <= limit

    ok = passes(value, challenge.threshold)
    if challenge.value_kind == ValueKind.PAIR:
        ok = ok and passes(value2, challenge.threshold2)
    return ok


def _streaks(days: list[date]) -> tuple[int, int]:
    """(run ending at the last day, best run) of sorted distinct days."""
    best = run = 0
    prev: date | None = None
    for d in days:
        run = run + 1 if prev is not None and d == prev + timedelta(days=1) else 1
        best = max(best, run)
        prev = d
    return run, best


def _recompute(session: TenantSession, participant: ChallengeParticipant) -> None:
    days: list[date] = sorted(
        session.exec(
            select(col(ChallengeCheckin.day)).where(
                ChallengeCheckin.participant_id == pk(participant),
                col(ChallengeCheckin.counted).is_(True),
            )
        ).all()
    )
    current, best = _streaks(days)
    participant.days_counted = len(days)
    participant.current_streak = current
    participant.best_streak = best
    participant.last_counted_on = days[-1] if days else None


def is_complete(challenge: Challenge, participant: ChallengeParticipant) -> bool:
    """Whether the participant has met the challenge's target."""
    score = (
        participant.best_streak
        if challenge.streak_rule == StreakRule.CONSECUTIVE
        else participant.days_counted
    )
    return score >= challenge.target_days


def award_completion(
    *,
    session: TenantSession,
    challenge: Challenge,
    participant: ChallengeParticipant,
    now: datetime,
) -> bool:
    """Give a completed challenge's reward, exactly once; True if this call gave it.

    ``reward_given`` flips false -> true in one conditional UPDATE in the caller's
    transaction: of two concurrent completions only one sees a row count of 1.
    The points go through the points ledger (``membership.points.earn``) in the
    same transaction, with the idempotency key ``challenge:<id>:<patient_id>``
    (``reward_key``), so they are earned once even if this were called twice;
    a rolled-back check-in earns nothing. The badge is the challenge's
    ``badge_name``, shown for a completed participant.
    """
    if participant.completed_at is None:
        return False
    result = session.exec(
        update(ChallengeParticipant)
        .where(
            col(ChallengeParticipant.id) == pk(participant),
            col(ChallengeParticipant.reward_given).is_(False),
            col(ChallengeParticipant.completed_at).is_not(None),
        )
        .values(reward_given=True)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return False
    set_committed_value(participant, "reward_given", True)
    source = Source(type="challenge", id=str(pk(challenge)))
    if challenge.reward_points > 0:
        earned = challenge.reward_points
        earn(
            session,
            patient_id=participant.patient_id,
            points=earned,
            reason="challenge completed",
            source=source,
            idempotency_key=reward_key(challenge, participant),
            now=now,
        )
    else:  # no points of its own: the tenant's earn rule for a completed challenge
        entry = award(
            session,
            patient_id=participant.patient_id,
            rule=RuleKind.CHALLENGE_COMPLETED,
            source=source,
            idempotency_key=reward_key(challenge, participant),
            now=now,
        )
        earned = entry.points if entry is not None else 0
    record(
        session,
        actor=None,
        action="challenge.reward",
        target_type="challenge_participant",
        target_id=pk(participant),
        details={
            "points": earned,
            "badge": challenge.badge_name,
            "key": reward_key(challenge, participant),
        },
    )
    reevaluate_for_patient(session=session, patient_id=participant.patient_id, now=now)  # tags
    return True


def reward_key(challenge: Challenge, participant: ChallengeParticipant) -> str:
    """The points ledger's idempotency key of a challenge's reward."""
    return f"challenge:{pk(challenge)}:{participant.patient_id}"


@dataclass(frozen=True)
class Progress:
    """A participant's standing, as the patient sees it."""

    challenge_id: int
    nickname: str
    days_counted: int
    target_days: int
    current_streak: int  # 0 once a day was missed after the last counted one
    best_streak: int
    checked_in_today: bool
    completed: bool
    completed_at: datetime | None
    reward_given: bool
    badge_name: str


def _progress(
    session: TenantSession, challenge: Challenge, p: ChallengeParticipant, today: date
) -> Progress:
    today_row = session.exec(
        select(ChallengeCheckin.id).where(
            ChallengeCheckin.participant_id == pk(p), ChallengeCheckin.day == today
        )
    ).first()
    alive = p.last_counted_on is not None and p.last_counted_on >= today - timedelta(days=1)
    return Progress(
        challenge_id=pk(challenge),
        nickname=p.nickname,
        days_counted=p.days_counted,
        target_days=challenge.target_days,
        current_streak=p.current_streak if alive else 0,
        best_streak=p.best_streak,
        checked_in_today=today_row is not None,
        completed=p.completed_at is not None,
        completed_at=p.completed_at,
        reward_given=p.reward_given,
        badge_name=challenge.badge_name if p.completed_at is not None else "",
    )


def _mine(session: TenantSession, challenge: Challenge, patient_id: int) -> ChallengeParticipant:
    row = session.exec(
        select(ChallengeParticipant).where(
            ChallengeParticipant.challenge_id == pk(challenge),
            ChallengeParticipant.patient_id == patient_id,
        )
    ).first()
    if row is None:
        raise DomainError("challenge.not_joined")
    return row


def check_in(
    *,
    session: TenantSession,
    actor: Principal | None,
    challenge_id: int,
    values: Sequence[object] | None,
    now: datetime,
) -> Progress:
    """Record today's check-in (today in the tenant's zone) and the progress it makes."""
    actor = require_patient(session, actor)
    challenge = _visible(session, challenge_id)
    tz = tenant_zone(session)
    day = local_today(now, tz)
    _open_for(challenge, day)
    value, value2 = _values(challenge, values)
    write_lock(session)
    participant = _mine(session, challenge, actor.id)
    # The participant's row locked, then "checked in today?" asked in its own statement
    # (so PostgreSQL answers it after the lock, not from the snapshot before it).
    session.exec(
        select(ChallengeParticipant.id)
        .where(col(ChallengeParticipant.id) == pk(participant))
        .with_for_update()
    ).one()
    session.refresh(participant)
    already = select(ChallengeCheckin.id).where(
        ChallengeCheckin.participant_id == pk(participant), ChallengeCheckin.day == day
    )
    if session.exec(already).first() is not None:
        raise DomainError("challenge.already_checked_in", day=day.isoformat())
    checkin = ChallengeCheckin(
        challenge_id=pk(challenge),
        participant_id=pk(participant),
        day=day,
        value=value,
        value2=value2,
        counted=day_counts(challenge, value, value2),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(checkin)
            session.flush()
    except IntegrityError:
        raise DomainError("challenge.already_checked_in", day=day.isoformat()) from None
    _recompute(session, participant)
    if participant.completed_at is None and is_complete(challenge, participant):
        participant.completed_at = now
    session.add(participant)
    session.flush()
    if participant.completed_at is not None and not participant.reward_given:
        award_completion(session=session, challenge=challenge, participant=participant, now=now)
    return _progress(session, challenge, participant, day)


def my_progress(
    *, session: TenantSession, actor: Principal | None, challenge_id: int, now: datetime
) -> Progress:
    """The patient's own progress in a challenge they joined."""
    actor = require_patient(session, actor)
    challenge = _visible(session, challenge_id)
    participant = _mine(session, challenge, actor.id)
    return _progress(session, challenge, participant, local_today(now, tenant_zone(session)))


# --- leaderboard -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaderRow:
    """One line of the leaderboard: a nickname and numbers, never a name or phone."""

    rank: int
    nickname: str
    score: int  # counted days, or the best streak for a consecutive challenge
    completed: bool
    is_me: bool


def leaderboard(
    *, session: TenantSession, actor: Principal | None, challenge_id: int, limit: int = 50
) -> list[LeaderRow]:
    """The top participants: highest score first, ties by earliest completion, then
    by earliest join. Patients see published and closed challenges; admins any."""
    if actor is not None and actor.kind == PrincipalKind.STAFF:
        require_staff(session, actor, Permission.CHALLENGES_MANAGE)
        challenge = get_or_404(session, Challenge, challenge_id)
        me = None
    else:
        actor = require_patient(session, actor)
        challenge = _visible(session, challenge_id)
        me = actor.id
    limit = max(1, min(int(limit), 200))
    score = (
        col(ChallengeParticipant.best_streak)
        if challenge.streak_rule == StreakRule.CONSECUTIVE
        else col(ChallengeParticipant.days_counted)
    )
    rows = session.exec(
        select(
            ChallengeParticipant.nickname,
            score,
            ChallengeParticipant.completed_at,
            ChallengeParticipant.patient_id,
        )
        .where(ChallengeParticipant.challenge_id == pk(challenge))
        .order_by(
            score.desc(),
            col(ChallengeParticipant.completed_at).is_(None),
            col(ChallengeParticipant.completed_at),
            col(ChallengeParticipant.joined_at),
            col(ChallengeParticipant.id),
        )
        .limit(limit)
    ).all()
    return [
        LeaderRow(
            rank=i + 1,
            nickname=nick,
            score=int(s),
            completed=done is not None,
            is_me=me is not None and pid == me,
        )
        for i, (nick, s, done, pid) in enumerate(rows)
    ]


# --- the daily nudge -------------------------------------------------------------------------


def _channel(session: TenantSession, patient: Patient) -> Channel:
    """SMS when the tenant sends SMS and the patient has a phone, else email, else the inbox."""
    settings = messaging_settings(session)
    if settings.sms_enabled and patient.phone:
        return Channel.SMS
    if settings.email_enabled and patient.email:
        return Channel.EMAIL
    return Channel.INAPP


def nudge_key(participant_id: int, challenge_id: int, missed: date) -> str:
    """One nudge per participant per missed day."""
    return f"challenge:{challenge_id}:nudge:{participant_id}:{missed.isoformat()}"


def nudge_missed(*, session: TenantSession, now: datetime) -> int:
    """Nudge every participant of a running challenge who did not check in yesterday
    (local): joined by then, not yet completed, and the challenge still has days left.
    Returns the number of nudges recorded (a repeat run records none)."""
    tz = tenant_zone(session)
    today = local_today(now, tz)
    yesterday = today - timedelta(days=1)
    tenant = session.get(Tenant, session.tenant_id)
    default_locale = tenant.default_locale if tenant else "zh-CN"
    challenges = session.exec(
        select(Challenge).where(
            Challenge.status == ChallengeStatus.PUBLISHED,
            col(Challenge.starts_on) <= yesterday,
            col(Challenge.ends_on) >= today,
        )
    ).all()
    sent = 0
    for challenge in challenges:
        checked = select(ChallengeCheckin.participant_id).where(
            ChallengeCheckin.challenge_id == pk(challenge), ChallengeCheckin.day == yesterday
        )
        rows = session.exec(
            select(ChallengeParticipant, Patient)
            .join(Patient, col(Patient.id) == col(ChallengeParticipant.patient_id))
            .where(
                ChallengeParticipant.challenge_id == pk(challenge),
                col(ChallengeParticipant.completed_at).is_(None),
                col(ChallengeParticipant.id).not_in(checked),
            )
            .order_by(col(ChallengeParticipant.id))
        ).all()
        for participant, patient in rows:
            if local_today(participant.joined_at, tz) > yesterday:
                continue  # joined today: nothing was missed
            en = (patient.locale or default_locale) == "en"
            title = (challenge.title_en or challenge.title_zh) if en else challenge.title_zh
            key = nudge_key(pk(participant), pk(challenge), yesterday)
            if session.exec(select(Message.id).where(Message.dedupe_key == key)).first():
                continue  # nudged already (the job ran twice)
            try:
                enqueue(
                    session,
                    template_key="challenge.nudge",
                    channel=_channel(session, patient),
                    patient_id=pk(patient),
                    variables={
                        "challenge": title,
                        "nickname": participant.nickname,
                        "days_counted": str(participant.days_counted),
                        "target_days": str(challenge.target_days),
                        "ends_on": challenge.ends_on.isoformat(),
                    },
                    dedupe_key=key,
                    source=f"challenge:{pk(challenge)}",
                )
            except NoAddress:
                continue
            sent += 1
    return sent
