"""The patient's wallet: card, level and benefits, balance, spendable, locked with
its unlock day, expiring soon with its last day, labelled history; patients only,
their own tenant only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from prm_saas.i18n import translate
from prm_saas.membership import cards, points
from prm_saas.membership.models import MembershipLevel
from prm_saas.membership.wallet import wallet
from tenants.db import tenant_session
from tenants.errors import NotFound, PermissionDenied
from tests.factories import World
from tests.membership.helpers import NOW, earn

# NOW is 2026-03-10 10:00 in Shanghai.


def test_an_empty_wallet_before_a_card(world: World) -> None:
    with tenant_session(world.a.id) as s:
        w = wallet(session=s, actor=world.patient_a, now=NOW)
    assert (w.card_number, w.level, w.balance, w.spendable, w.locked, w.expiring) == (
        "",
        None,
        0,
        0,
        0,
        0,
    )
    assert (w.unlocks_on, w.expiring_last_day, w.history, w.notice_days) == (None, None, [], 30)


def test_the_wallet_splits_points_by_state_with_their_days(world: World) -> None:
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        s.add(MembershipLevel(name_zh="普通", name_en="Basic", rank=0))
        s.add(
            MembershipLevel(
                name_zh="银卡",
                name_en="Silver",
                rank=1,
                min_points_12m=1000,
                discount_percent=5,
                multiplier_percent=120,
            )
        )
    with tenant_session(world.a.id) as s:
        cards.issue_card(s, actor=world.patient_a, patient_id=pid, now=NOW)
    # 100 earned 11.5 months ago: they expire at the end of local 2026-03-25 (within 30 days)
    earn(world.a, pid, 100, "old", now=NOW - timedelta(days=350))
    earn(world.a, pid, 200, "purchase", now=NOW, lock_days=7)  # unlocks on 3-17 local
    earn(world.a, pid, 50, "checkup", now=NOW)
    with tenant_session(world.a.id) as s:
        points.redeem(
            s,
            actor=world.patient_a,
            patient_id=pid,
            points=30,
            reason="gift",
            source=None,
            idempotency_key="r1",
            now=NOW,
        )
    with tenant_session(world.a.id) as s:
        w = wallet(session=s, actor=world.patient_a, now=NOW)
    assert w.card_number == "M00000001"
    assert w.level is not None
    assert (w.level.name("en"), w.level.name("zh-CN")) == ("Basic", "普通")
    assert w.next_level is not None
    assert (w.next_level.name_en, w.next_level.discount_percent) == ("Silver", 5)
    assert (w.points_12m, w.points_to_next) == (350, 650)
    assert (w.balance, w.spendable, w.locked) == (320, 120, 200)
    assert w.unlocks_on == date(2026, 3, 17)
    assert (w.expiring, w.expiring_last_day) == (70, date(2026, 3, 25))  # 30 spent from it
    assert [h.kind for h in w.history] == ["redeem", "earn", "earn", "earn"]
    assert translate(w.history[0].kind_key, "zh-CN") == "兑换"
    assert translate(w.history[0].reason_key, "en") == "Redeemed for a reward"
    assert w.history[0].note == "gift"
    with tenant_session(world.a.id) as s:
        totals = wallet(session=s, actor=world.patient_a, now=NOW, history=False)
    assert (totals.balance, totals.expiring, totals.history) == (320, 70, [])


def test_only_the_patient_reads_their_wallet(world: World) -> None:
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            wallet(session=s, actor=world.admin_a, now=NOW)
        with pytest.raises(NotFound):  # tenant B's patient in tenant A
            wallet(session=s, actor=world.patient_b, now=NOW)
        with pytest.raises(NotFound):
            wallet(session=s, actor=None, now=NOW)


def test_expiring_soon_counts_local_days_like_the_notice(world: World) -> None:
    pid = world.patient_a.id
    # NOW is 2026-03-10 in Shanghai; the notice looks 30 days ahead: up to 2026-04-09.
    earn(world.a, pid, 30, "in", now=NOW + timedelta(days=30) - timedelta(days=365))
    earn(world.a, pid, 31, "out", now=NOW + timedelta(days=31) - timedelta(days=365))
    with tenant_session(world.a.id) as s:
        w = wallet(session=s, actor=world.patient_a, now=NOW)
    assert (w.expiring, w.expiring_last_day) == (30, date(2026, 4, 9))
    assert w.balance == 61
