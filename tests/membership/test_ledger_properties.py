"""A stateful property test of the points ledger (Hypothesis RuleBasedStateMachine).

Random sequences of earn (some locked for a return window, some repeated with the
same key), redeem, time passing, expire, refund (reverse) and staff adjustments run
through the real services against the test database, beside a small model of the
lots written from the rules in prm_saas/membership/points.py. After every step:
- the kept balance equals the ledger sum (and the lots' remaining, or 0 in debt);
- the balance is never below the policy floor (0 under floor_zero);
- the lots match the model, which spends and expires oldest expiry first;
- nothing is earned twice (one entry per key; one reversal per source);
- the other tenant is untouched.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import col, func, select

from prm_saas.membership import points
from prm_saas.membership.models import NegativePolicy, PointsEntry, PointsLot
from prm_saas.membership.points import Source
from tenants.db import tenant_session
from tenants.errors import DomainError
from tests.factories import World
from tests.membership.helpers import NOW, check, earn, new_patient, set_policy

TZ = ZoneInfo("Asia/Shanghai")  # make_tenant's default
EXPIRY_MONTHS = 1  # short, so that expiry happens within a run
_patients = itertools.count(1000)


@dataclass
class Lot:
    """The model of one lot, in creation (id) order."""

    expires_at: datetime
    available_at: datetime
    remaining: int
    source: str


class Ledger(RuleBasedStateMachine):
    """Services against a model; ``world`` is set by the test before the run."""

    world: World

    def __init__(self) -> None:
        super().__init__()
        self.tenant = self.world.a
        self.pid = new_patient(self.tenant, next(_patients))
        self.now = NOW
        self.balance = 0
        self.lots: list[Lot] = []
        self.earned: dict[int, int] = {}  # earn number -> points, for refunds
        self.reversed: set[int] = set()
        self.keys = itertools.count()
        self.policy = NegativePolicy.FLOOR_ZERO

    def _key(self) -> str:
        return f"{self.pid}-{next(self.keys)}"

    def _count(self, kind: str) -> int:
        with tenant_session(self.tenant.id) as s:
            return int(
                s.exec(
                    select(func.count())
                    .select_from(PointsEntry)
                    .where(col(PointsEntry.patient_id) == self.pid, col(PointsEntry.kind) == kind)
                ).one()
            )

    def _earn_key(self, i: int) -> str:
        return f"{self.pid}-earn-{i}"

    @initialize(policy=st.sampled_from(list(NegativePolicy)))
    def choose_policy(self, policy: NegativePolicy) -> None:
        self.policy = policy
        set_policy(self.tenant, policy, points_expiry_months=EXPIRY_MONTHS)

    # --- model helpers ------------------------------------------------------------------

    def _ordered(self, lots: list[Lot]) -> list[Lot]:
        return sorted(lots, key=lambda lot: lot.expires_at)  # stable: id order on ties

    def _take(self, lots: list[Lot], n: int) -> int:
        taken = 0
        for lot in lots:
            k = min(lot.remaining, n - taken)
            lot.remaining -= k
            taken += k
        return taken

    def _credit(self, n: int, lock_days: int, source: str) -> None:
        debt = max(0, -self.balance)
        self.lots.append(
            Lot(
                expires_at=points.expiry_for(self.now, EXPIRY_MONTHS, TZ),
                available_at=self.now + timedelta(days=lock_days),
                remaining=max(0, n - debt),
                source=source,
            )
        )
        self.balance += n

    # --- rules --------------------------------------------------------------------------

    @rule(n=st.integers(1, 300), lock=st.sampled_from([0, 0, 7]))
    def earn(self, n: int, lock: int) -> None:
        i = len(self.earned)
        key = self._earn_key(i)
        earn(
            self.tenant, self.pid, n, key, now=self.now, lock_days=lock, source=Source("order", key)
        )
        self._credit(n, lock, key)
        self.earned[i] = n

    @precondition(lambda self: bool(self.earned))
    @rule(data=st.data())
    def earn_again_with_the_same_key(self, data: st.DataObject) -> None:
        i = data.draw(st.sampled_from(sorted(self.earned)))
        key = self._earn_key(i)
        earn(self.tenant, self.pid, self.earned[i], key, now=self.now, source=Source("order", key))
        # the model does not change: nothing is earned twice

    @rule(n=st.integers(1, 400))
    def redeem(self, n: int) -> None:
        usable = [
            lot
            for lot in self._ordered(self.lots)
            if lot.remaining > 0 and lot.available_at <= self.now < lot.expires_at
        ]
        available = max(0, min(self.balance, sum(lot.remaining for lot in usable)))
        try:
            with tenant_session(self.tenant.id) as s:
                points.redeem(
                    s,
                    actor=self.world.admin_a,
                    patient_id=self.pid,
                    points=n,
                    reason="r",
                    source=None,
                    idempotency_key=self._key(),
                    now=self.now,
                )
        except DomainError as e:
            assert e.key == "points.insufficient"  # noqa: PT017
            assert n > available
            return
        assert n <= available
        self._take(usable, n)
        self.balance -= n

    @rule(days=st.integers(0, 20), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)

    @rule()
    def expire(self) -> None:
        before = self._count("expire")
        with tenant_session(self.tenant.id) as s:
            points.expire_due(s, now=self.now)  # the whole tenant: earlier runs' patients too
        due = [lot for lot in self.lots if lot.remaining > 0 and lot.expires_at <= self.now]
        assert self._count("expire") - before == len(due)  # one entry per lot of ours
        for lot in due:
            self.balance -= lot.remaining
            lot.remaining = 0

    @precondition(lambda self: bool(set(self.earned) - self.reversed))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        i = data.draw(st.sampled_from(sorted(set(self.earned) - self.reversed)))
        source = self._earn_key(i)
        with tenant_session(self.tenant.id) as s:
            points.reverse(
                s, source=Source("order", source), idempotency_key=self._key(), now=self.now
            )
        own = [lot for lot in self.lots if lot.source == source]
        rest = self._ordered([lot for lot in self.lots if lot.source != source])
        taken = self._take(self._ordered(own) + rest, self.earned[i])
        self.balance -= self.earned[i] if self.policy == NegativePolicy.ALLOW_NEGATIVE else taken
        self.reversed.add(i)
        # a second refund of the same source changes nothing
        with tenant_session(self.tenant.id) as s:
            points.reverse(
                s, source=Source("order", source), idempotency_key=self._key(), now=self.now
            )

    @rule(n=st.integers(-200, 200).filter(bool))
    def adjust(self, n: int) -> None:
        try:
            with tenant_session(self.tenant.id) as s:
                points.adjust(
                    s,
                    actor=self.world.admin_a,
                    patient_id=self.pid,
                    points=n,
                    reason="盘点",
                    idempotency_key=self._key(),
                    now=self.now,
                )
        except DomainError as e:
            assert e.key == "points.insufficient"  # noqa: PT017
            assert -n > max(0, self.balance)
            return
        if n > 0:
            self._credit(n, 0, "")
        else:
            assert -n <= max(0, self.balance)
            self._take(self._ordered(self.lots), -n)
            self.balance += n

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def balance_is_the_ledger_sum_and_matches_the_model(self) -> None:
        got = check(self.tenant, self.pid)
        assert got.ok, got
        assert got.balance == self.balance

    @invariant()
    def never_below_the_policy_floor(self) -> None:
        if self.policy == NegativePolicy.FLOOR_ZERO:
            assert self.balance >= 0
        else:
            assert self.balance >= -sum(self.earned.values())

    @invariant()
    def lots_are_spent_and_expired_oldest_first(self) -> None:
        with tenant_session(self.tenant.id) as s:
            rows = s.exec(
                select(PointsLot.remaining)
                .where(col(PointsLot.patient_id) == self.pid)
                .order_by(col(PointsLot.id))
            ).all()
        assert list(rows) == [lot.remaining for lot in self.lots]

    @invariant()
    def nothing_earned_twice(self) -> None:
        with tenant_session(self.tenant.id) as s:
            earns, reverses = (
                s.exec(
                    select(func.count())
                    .select_from(PointsEntry)
                    .where(col(PointsEntry.patient_id) == self.pid, col(PointsEntry.kind) == kind)
                ).one()
                for kind in ("earn", "reverse")
            )
        assert earns == len(self.earned)
        assert reverses == len(self.reversed)


def test_the_ledger_holds_its_invariants(world: World) -> None:
    earn(world.b, world.patient_b.id, 77, "b-only")
    Ledger.world = world
    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        ),
    )
    assert check(world.b, world.patient_b.id).balance == 77  # the other tenant untouched


@pytest.mark.parametrize("policy", list(NegativePolicy))
def test_the_model_catches_a_wrong_order(world: World, policy: NegativePolicy) -> None:
    # The lots invariant can fail: two lots, the later-expiring one made first;
    # a redemption must drain the earlier-expiring one.
    set_policy(world.a, policy, points_expiry_months=EXPIRY_MONTHS)
    earn(world.a, world.patient_a.id, 10, "late", now=NOW)
    earn(world.a, world.patient_a.id, 10, "early", now=NOW - timedelta(days=5))
    with tenant_session(world.a.id) as s:
        points.redeem(
            s,
            actor=world.admin_a,
            patient_id=world.patient_a.id,
            points=10,
            reason="r",
            source=None,
            idempotency_key="r",
            now=NOW,
        )
        rows = s.exec(select(PointsLot.remaining).order_by(col(PointsLot.id))).all()
    assert list(rows) == [10, 0]
