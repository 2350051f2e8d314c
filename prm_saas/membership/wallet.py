"""The patient's points wallet (我的积分): card, level and benefits, balance,
what is spendable, what is locked in a purchase's return window and when it
unlocks, what expires within the tenant's notice days and by which day, and the
recent history with labels in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select

from prm_saas.accounts.authz import Principal, require_patient
from prm_saas.booking.schedule import tenant_zone
from prm_saas.membership.cards import rolling_totals
from prm_saas.membership.models import MembershipLevel, MembershipSettings
from prm_saas.membership.statement import (
    Balances,
    HistoryLine,
    LevelView,
    balances_of,
    card_and_level,
    history_lines,
    level_view,
)
from tenants.db import TenantSession


@dataclass(frozen=True)
class Wallet:
    """What the patient's wallet and card pages show.

    ``card_number`` is "" until a card is issued. ``next_level`` is the next
    active level above the current one reachable by points, with
    ``points_to_next`` still to earn in the rolling 12 months (0 without one).
    ``unlocks_on`` is the local day the first locked points become spendable;
    ``expiring_last_day`` the last local day the first expiring points can be
    used (both None when there are none).
    """

    card_number: str
    level: LevelView | None
    next_level: LevelView | None
    points_to_next: int
    balance: int
    spendable: int
    locked: int
    unlocks_on: date | None
    expiring: int
    expiring_last_day: date | None
    notice_days: int
    points_12m: int
    history: list[HistoryLine]


def wallet(
    *, session: TenantSession, actor: Principal | None, now: datetime, history: bool = True
) -> Wallet:
    """The signed-in patient's wallet; without the ledger history when a page
    shows only the totals (``history=False``: the member home)."""
    me = require_patient(session, actor)
    pid = int(me.id)
    conf = session.exec(select(MembershipSettings)).first() or MembershipSettings()
    card, level = card_and_level(session, pid)
    money = balances_of(
        session, [pid], now=now, notice_days=conf.notice_days, tz=tenant_zone(session)
    ).get(pid, Balances())
    earned, _fen = rolling_totals(session, patient_id=pid, now=now)
    above = session.exec(
        select(MembershipLevel)
        .where(
            col(MembershipLevel.active),
            col(MembershipLevel.rank) > (level.rank if level else -1),
            col(MembershipLevel.min_points_12m) > 0,
        )
        .order_by(col(MembershipLevel.rank))
    ).first()
    return Wallet(
        card_number=card.number if card else "",
        level=level_view(level) if level else None,
        next_level=level_view(above) if above else None,
        points_to_next=max(0, above.min_points_12m - earned) if above else 0,
        balance=money.balance,
        spendable=money.spendable,
        locked=money.locked,
        unlocks_on=money.unlocks_on,
        expiring=money.expiring,
        expiring_last_day=money.expiring_last_day,
        notice_days=conf.notice_days,
        points_12m=earned,
        history=history_lines(session, pid) if history else [],
    )
