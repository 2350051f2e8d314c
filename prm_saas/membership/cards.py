"""Member cards (客户开卡) and levels.

A card number is the tenant's prefix and a zero-padded sequence (M00000001). The
sequence lives in ``membership_settings.card_next`` and is taken with one atomic
``UPDATE ... SET card_next = card_next + 1``: the row lock it takes is held until
the commit, so two issuers never get the same number (and the unique index on
(tenant, number) is the last word). One card per patient per tenant: a second
issue returns the first card.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from prm_saas.accounts.authz import Permission, Principal, require_patient, require_staff
from prm_saas.accounts.models import Patient, PrincipalKind
from prm_saas.audit.services import record
from prm_saas.booking.schedule import write_lock
from prm_saas.membership.models import (
    EntryKind,
    MemberCard,
    MembershipLevel,
    MembershipSettings,
    PointsEntry,
)
from prm_saas.orders.models import Order
from prm_saas.tags.services import reevaluate_for_patient
from tenants.db import TenantSession
from tenants.errors import FieldErrors
from tenants.lookup import get_or_404

_PREFIX = re.compile(r"^[A-Za-z0-9]{0,10}$")
ROLLING = timedelta(days=365)


def _settings_row(session: TenantSession) -> MembershipSettings:
    """The tenant's settings row, created with defaults if missing."""
    stmt = select(MembershipSettings)
    row = session.exec(stmt).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = MembershipSettings()
            session.add(row)
            session.flush()
        return row
    except IntegrityError:
        return session.exec(stmt).one()


def set_card_format(
    session: TenantSession, *, actor: Principal | None, prefix: str, digits: int
) -> MembershipSettings:
    """The tenant's card number format (MEMBERS_MANAGE); audited."""
    staff = require_staff(session, actor, Permission.MEMBERS_MANAGE)
    if (
        not isinstance(prefix, str)
        or not _PREFIX.match(prefix)
        or isinstance(digits, bool)
        or not isinstance(digits, int)
        or not 4 <= digits <= 12
    ):
        raise FieldErrors({"card_prefix": ("membership.card_format_invalid", {})})
    row = _settings_row(session)
    row.card_prefix, row.card_digits = prefix, digits
    session.add(row)
    record(
        session,
        actor=staff,
        action="membership.card_format",
        target_type="membership_settings",
        target_id=row.id,
        details={"prefix": prefix, "digits": digits},
    )
    session.flush()
    return row


def _next_number(session: TenantSession) -> str:
    row = _settings_row(session)
    session.exec(
        update(MembershipSettings)
        .where(col(MembershipSettings.id) == row.id)
        .values(card_next=col(MembershipSettings.card_next) + 1)
    )
    session.refresh(row)
    return f"{row.card_prefix}{row.card_next - 1:0{row.card_digits}d}"


def issue_card(
    session: TenantSession, *, actor: Principal | None, patient_id: int, now: datetime
) -> MemberCard:
    """A card for the patient: by the patient themself (self-registration) or by
    staff with FRONT_DESK. Idempotent: the patient's existing card if any."""
    if actor is not None and actor.kind == PrincipalKind.PATIENT:
        me = require_patient(session, actor)
        if str(me.id) != str(patient_id):
            get_or_404(session, Patient, -1)  # another patient: NotFound, like a missing one
        staff_id = None
    else:
        staff_id = require_staff(session, actor, Permission.FRONT_DESK).id
    patient = get_or_404(session, Patient, patient_id)
    write_lock(session)
    stmt = select(MemberCard).where(col(MemberCard.patient_id) == patient.id)
    existing = session.exec(stmt).first()
    if existing is not None:
        return existing
    card = MemberCard(
        number=_next_number(session),
        patient_id=patient.id,  # type: ignore[arg-type]
        level_id=_entry_level_id(session),
        issued_at=now,
        issued_by_staff_id=staff_id,
        self_registered=staff_id is None,
    )
    try:
        with session.begin_nested():
            session.add(card)
            session.flush()
    except IntegrityError:
        return session.exec(stmt).one()
    record(
        session,
        actor=actor,
        action="membership.card_issued",
        target_type="member_card",
        target_id=card.id,
        details={"number": card.number, "patient_id": patient.id},
    )
    return card


def my_card(session: TenantSession, *, actor: Principal | None) -> MemberCard | None:
    """The signed-in patient's card, if issued."""
    me = require_patient(session, actor)
    return session.exec(select(MemberCard).where(col(MemberCard.patient_id) == me.id)).first()


def _levels(session: TenantSession) -> list[MembershipLevel]:
    return list(
        session.exec(
            select(MembershipLevel)
            .where(col(MembershipLevel.active))
            .order_by(col(MembershipLevel.rank).desc())
        ).all()
    )


def _entry_level_id(session: TenantSession) -> int | None:
    levels = _levels(session)
    return levels[-1].id if levels else None


def rolling_totals(session: TenantSession, *, patient_id: int, now: datetime) -> tuple[int, int]:
    """(points earned, fen paid net of refunds) by the patient in the 12 months to ``now``."""
    since = now - ROLLING
    points = session.exec(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            col(PointsEntry.patient_id) == patient_id,
            col(PointsEntry.kind) == EntryKind.EARN,
            col(PointsEntry.created_at) > since,
            col(PointsEntry.created_at) <= now,
        )
    ).one()
    fen = session.exec(
        select(func.coalesce(func.sum(col(Order.paid_fen) - col(Order.refunded_fen)), 0)).where(
            col(Order.patient_id) == patient_id,
            col(Order.paid_at) > since,
            col(Order.paid_at) <= now,
        )
    ).one()
    return int(points), int(fen)


def level_for(levels: list[MembershipLevel], points: int, fen: int) -> MembershipLevel | None:
    """The highest level reached by either criterion (a level with both thresholds
    0 is reached by everyone)."""
    for level in sorted(levels, key=lambda lv: -lv.rank):
        by_points = level.min_points_12m > 0 and points >= level.min_points_12m
        by_money = level.min_spent_fen_12m > 0 and fen >= level.min_spent_fen_12m
        free = level.min_points_12m == 0 and level.min_spent_fen_12m == 0
        if by_points or by_money or free:
            return level
    return None


def recalc_level(
    session: TenantSession, *, patient_id: int, now: datetime
) -> MembershipLevel | None:
    """Set the patient's card level from the rolling 12 months (up or down). A
    patient without a card is left alone (None)."""
    card = session.exec(select(MemberCard).where(col(MemberCard.patient_id) == patient_id)).first()
    if card is None:
        return None
    points, fen = rolling_totals(session, patient_id=patient_id, now=now)
    level = level_for(_levels(session), points, fen)
    new_id = level.id if level else None
    changed = card.level_id != new_id
    if changed:
        record(
            session,
            actor=None,
            action="membership.level_changed",
            target_type="member_card",
            target_id=card.id,
            details={"from": card.level_id, "to": new_id, "points": points, "fen": fen},
        )
    card.level_id = new_id
    card.level_checked_at = now
    session.add(card)
    session.flush()
    if changed:  # tag rules on the member level
        reevaluate_for_patient(session=session, patient_id=patient_id, now=now)
    return level
