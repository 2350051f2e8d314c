"""The points ledger through its services: earn, redeem, expire, adjust, reverse;
permissions, wrong tenant and bad input (nothing half-written)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from prm_saas.audit.models import AuditEvent
from prm_saas.i18n import translate as t
from prm_saas.membership import points
from prm_saas.membership.models import (
    EntryKind,
    NegativePolicy,
    PointsEntry,
    PointsLot,
    PointsRule,
    RuleKind,
)
from prm_saas.membership.points import Source
from tenants.db import tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from tests.factories import World
from tests.membership.helpers import NOW, check, earn, new_patient, set_policy


def _entries(tenant_id: int, pid: int) -> list[tuple[str, int]]:
    with tenant_session(tenant_id) as s:
        rows = s.exec(
            select(PointsEntry).where(col(PointsEntry.patient_id) == pid).order_by(PointsEntry.id)
        ).all()
        return [(str(r.kind), r.points) for r in rows]


def _redeem(world: World, pid: int, n: int, key: str, now: datetime = NOW) -> PointsEntry:
    with tenant_session(world.a.id) as s:
        return points.redeem(
            s,
            actor=world.patient_a,
            patient_id=pid,
            points=n,
            reason="coupon",
            source=None,
            idempotency_key=key,
            now=now,
        )


def test_earn_then_redeem_spends_the_oldest_expiry_first(world: World) -> None:
    pid = world.patient_a.id
    earn(world.a, pid, 100, "e1", now=NOW)
    earn(world.a, pid, 50, "e2", now=NOW - timedelta(days=200))  # older: expires first

    _redeem(world, pid, 70, "r1")

    with tenant_session(world.a.id) as s:
        lots = s.exec(select(PointsLot).order_by(col(PointsLot.expires_at))).all()
        assert [(lot.points, lot.remaining) for lot in lots] == [(50, 0), (100, 80)]
        assert points.balance(s, actor=world.patient_a, patient_id=pid) == 80
    assert check(world.a, pid).ok
    assert _entries(world.a.id, pid) == [("earn", 100), ("earn", 50), ("redeem", -70)]


def test_redeeming_more_than_spendable_is_refused_in_both_languages(world: World) -> None:
    pid = world.patient_a.id
    earn(world.a, pid, 30, "e1")
    earn(world.a, pid, 40, "e2", lock_days=7)  # a purchase still in its return window

    with pytest.raises(DomainError) as err:
        _redeem(world, pid, 31, "r1")

    assert err.value.key == "points.insufficient"
    assert (
        t(err.value.key, "en", **err.value.params) == "Not enough points: 30 available, 31 needed."
    )
    assert "30" in t(err.value.key, "zh-CN", **err.value.params)
    assert _entries(world.a.id, pid) == [("earn", 30), ("earn", 40)]  # nothing half-written
    assert check(world.a, pid).ok
    # after the return window the locked lot is spendable
    _redeem(world, pid, 70, "r2", now=NOW + timedelta(days=7))
    assert check(world.a, pid).balance == 0


def test_the_same_key_makes_one_entry(world: World) -> None:
    pid = world.patient_a.id
    earn(world.a, pid, 100, "e1")
    earn(world.a, pid, 100, "e1")
    first = _redeem(world, pid, 10, "r1")
    again = _redeem(world, pid, 10, "r1")

    assert first.id == again.id
    assert _entries(world.a.id, pid) == [("earn", 100), ("redeem", -10)]
    with pytest.raises(DomainError) as err:
        _redeem(world, pid, 10, "e1")  # an earn's key reused for a redemption
    assert err.value.key == "points.key_reused"


def test_expiry_across_the_tenants_day_boundary(world: World) -> None:
    # given: points earned at 00:30 on 16 Jan in Shanghai (16:30 UTC on the 15th)
    pid = world.patient_a.id
    earned = datetime(2026, 1, 15, 16, 30, tzinfo=UTC)
    earn(world.a, pid, 100, "e1", now=earned)
    end = datetime(2027, 1, 16, 16, 0, tzinfo=UTC)  # midnight starting 17 Jan 2027 in Shanghai

    with tenant_session(world.a.id) as s:
        lot = s.exec(select(PointsLot)).one()
        assert lot.expires_at == end
        # then: spendable to the last second of the local day 16 Jan 2027 ...
        assert (
            points.spendable(
                s, actor=world.patient_a, patient_id=pid, now=end - timedelta(seconds=1)
            )
            == 100
        )
        assert points.expire_due(s, now=end - timedelta(seconds=1)) == 0
        # ... and gone at the local midnight, though in UTC it is still the 16th
        assert points.spendable(s, actor=world.patient_a, patient_id=pid, now=end) == 0
        assert points.expire_due(s, now=end) == 1
        assert points.expire_due(s, now=end + timedelta(days=1)) == 0  # once
    assert _entries(world.a.id, pid) == [("earn", 100), ("expire", -100)]
    assert check(world.a, pid).ok


def test_expiry_is_per_tenant(world: World) -> None:
    earn(world.a, world.patient_a.id, 10, "e1", now=NOW - timedelta(days=800))
    earn(world.b, world.patient_b.id, 10, "e1", now=NOW - timedelta(days=800))

    with tenant_session(world.a.id) as s:
        assert points.expire_due(s, now=NOW) == 1

    assert check(world.a, world.patient_a.id).balance == 0
    assert check(world.b, world.patient_b.id).balance == 10


def test_clawback_floor_zero_forgives_what_was_spent(world: World) -> None:
    pid = world.patient_a.id
    set_policy(world.a, NegativePolicy.FLOOR_ZERO)
    earn(world.a, pid, 100, "order-1", source=Source("order", "1"))
    _redeem(world, pid, 80, "r1")

    with tenant_session(world.a.id) as s:
        out = points.reverse(s, source=Source("order", "1"), idempotency_key="rev-1", now=NOW)
        again = points.reverse(s, source=Source("order", "1"), idempotency_key="rev-2", now=NOW)

    assert [e.points for e in out] == [-20]
    assert [e.id for e in again] == [e.id for e in out]  # a source is reversed once
    assert check(world.a, pid).balance == 0
    assert check(world.a, pid).ok


def test_clawback_allow_negative_takes_the_rest_from_later_earnings(world: World) -> None:
    pid = world.patient_a.id
    set_policy(world.a, NegativePolicy.ALLOW_NEGATIVE)
    earn(world.a, pid, 100, "order-1", source=Source("order", "1"))
    _redeem(world, pid, 80, "r1")

    with tenant_session(world.a.id) as s:
        points.reverse(s, source=Source("order", "1"), idempotency_key="rev-1", now=NOW)
    assert check(world.a, pid).balance == -80
    assert check(world.a, pid).ok

    earn(world.a, pid, 100, "e2")  # pays the debt first
    assert check(world.a, pid).balance == 20
    assert check(world.a, pid).lots == 20
    with pytest.raises(DomainError):
        _redeem(world, pid, 21, "r2")
    _redeem(world, pid, 20, "r3")


def test_clawback_takes_the_sources_own_lot_first(world: World) -> None:
    pid = world.patient_a.id
    earn(world.a, pid, 50, "old", now=NOW - timedelta(days=100))
    earn(world.a, pid, 100, "order-2", source=Source("order", "2"))

    with tenant_session(world.a.id) as s:
        points.reverse(s, source=Source("order", "2"), idempotency_key="rev", now=NOW)
        lots = {lot.source_id: lot.remaining for lot in s.exec(select(PointsLot)).all()}
    assert lots == {"old": 50, "2": 0}
    assert check(world.a, pid).balance == 50


def test_adjust_needs_members_manage_a_reason_and_is_audited(world: World) -> None:
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        with pytest.raises(PermissionDenied):
            points.adjust(
                s,
                actor=world.staff_a,
                patient_id=pid,
                points=5,
                reason="x",
                idempotency_key="a0",
                now=NOW,
            )
        with pytest.raises(PermissionDenied):
            points.adjust(
                s,
                actor=world.patient_a,
                patient_id=pid,
                points=5,
                reason="x",
                idempotency_key="a0",
                now=NOW,
            )
    with pytest.raises(FieldErrors) as err, tenant_session(world.a.id) as s:
        points.adjust(
            s,
            actor=world.admin_a,
            patient_id=pid,
            points=0,
            reason="  ",
            idempotency_key="a1",
            now=NOW,
        )
    assert set(err.value.errors) == {"reason", "points"}
    assert t("points.reason_required", "zh-CN") == "请填写调整原因。"

    with tenant_session(world.a.id) as s:
        points.adjust(
            s,
            actor=world.admin_a,
            patient_id=pid,
            points=30,
            reason="补录",
            idempotency_key="a2",
            now=NOW,
        )
    with pytest.raises(DomainError) as insufficient, tenant_session(world.a.id) as s:
        points.adjust(
            s,
            actor=world.admin_a,
            patient_id=pid,
            points=-31,
            reason="纠错",
            idempotency_key="a3",
            now=NOW,
        )
    assert insufficient.value.key == "points.insufficient"

    assert _entries(world.a.id, pid) == [("adjust", 30)]
    with tenant_session(world.a.id) as s:
        actions = s.exec(select(AuditEvent.action, AuditEvent.details)).all()
    assert [a for a, _ in actions] == ["points.adjust"]
    assert "补录" in actions[0][1]


def test_another_tenants_patient_is_not_found(world: World) -> None:
    earn(world.b, world.patient_b.id, 10, "e1")
    with tenant_session(world.a.id) as s:
        for fn in (
            lambda: points.balance(s, actor=world.admin_a, patient_id=world.patient_b.id),
            lambda: points.history(s, actor=world.admin_a, patient_id=world.patient_b.id),
            lambda: points.balance(s, actor=world.patient_b, patient_id=world.patient_b.id),
            lambda: points.earn(
                s,
                patient_id=world.patient_b.id,
                points=5,
                reason="x",
                source=None,
                idempotency_key="k",
                now=NOW,
            ),
            lambda: points.adjust(
                s,
                actor=world.admin_a,
                patient_id=world.patient_b.id,
                points=5,
                reason="x",
                idempotency_key="k",
                now=NOW,
            ),
            lambda: points.redeem(
                s,
                actor=world.admin_b,
                patient_id=world.patient_b.id,
                points=1,
                reason="x",
                source=None,
                idempotency_key="k",
                now=NOW,
            ),
        ):
            with pytest.raises(NotFound):
                fn()
    assert check(world.b, world.patient_b.id).balance == 10


def test_a_patient_sees_only_their_own_points(world: World) -> None:
    other = new_patient(world.a, 1)
    earn(world.a, other, 10, "e1")
    with tenant_session(world.a.id) as s:
        with pytest.raises(NotFound):
            points.balance(s, actor=world.patient_a, patient_id=other)
        with pytest.raises(NotFound):
            points.redeem(
                s,
                actor=world.patient_a,
                patient_id=other,
                points=1,
                reason="x",
                source=None,
                idempotency_key="k",
                now=NOW,
            )
        assert points.balance(s, actor=world.staff_a, patient_id=other) == 10
        assert [e.points for e in points.history(s, actor=world.staff_a, patient_id=other)] == [10]
        with pytest.raises(PermissionDenied):  # front desk reads, does not spend
            points.redeem(
                s,
                actor=world.staff_a,
                patient_id=other,
                points=1,
                reason="x",
                source=None,
                idempotency_key="k",
                now=NOW,
            )


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10", True, 10**9])
def test_bad_amounts_are_refused_with_a_message(world: World, bad: object) -> None:
    pid = world.patient_a.id
    earn(world.a, pid, 10, "e1")
    with pytest.raises(FieldErrors) as err:
        _redeem(world, pid, bad, "r1")  # type: ignore[arg-type]
    key, params = err.value.errors["points"]
    assert key == "points.amount_invalid"
    assert "10000000" in t(key, "en", **params)
    assert _entries(world.a.id, pid) == [("earn", 10)]


@pytest.mark.parametrize("key", ["", "   ", "x" * 101])
def test_bad_keys_are_refused(world: World, key: str) -> None:
    with pytest.raises(DomainError) as err:
        earn(world.a, world.patient_a.id, 10, key)
    assert err.value.key == "points.key_invalid"
    assert _entries(world.a.id, world.patient_a.id) == []


def test_award_follows_the_tenants_rule_and_locks_purchases(world: World) -> None:
    pid = world.patient_a.id
    with tenant_session(world.a.id) as s:
        s.add(PointsRule(kind=RuleKind.PER_YUAN_PAID, points=2))
        s.add(PointsRule(kind=RuleKind.BIRTHDAY, points=50, active=False))
    with tenant_session(world.a.id) as s:
        entry = points.award(
            s,
            patient_id=pid,
            rule=RuleKind.PER_YUAN_PAID,
            source=Source("order", "9"),
            idempotency_key="o9",
            now=NOW,
            paid_fen=12_399,
        )
        none = points.award(
            s,
            patient_id=pid,
            rule=RuleKind.BIRTHDAY,
            source=Source("birthday", "2026"),
            idempotency_key="b",
            now=NOW,
        )
        assert entry is not None
        assert entry.points == 246
        assert none is None
        assert points.spendable(s, actor=world.patient_a, patient_id=pid, now=NOW) == 0
        later = NOW + timedelta(days=7)
        assert points.spendable(s, actor=world.patient_a, patient_id=pid, now=later) == 246
        total = s.exec(select(func.count()).select_from(PointsEntry)).one()
    assert total == 1
    assert [k for k, _ in _entries(world.a.id, pid)] == [EntryKind.EARN.value]
