"""A partial clawback (``points.reverse(points=...)``, one per partial refund): once
per key, never more in total than the source earned, the ledger invariants kept."""

from __future__ import annotations

import pytest

from prm_saas.membership import points
from prm_saas.membership.models import NegativePolicy
from prm_saas.membership.points import Source
from tenants.db import tenant_session
from tenants.errors import FieldErrors
from tests.factories import World
from tests.membership.helpers import NOW, check, earn, set_policy

ORDER = Source("order", "7")


def _reverse(world: World, key: str, n: int) -> list[int]:
    with tenant_session(world.a.id) as s:
        out = points.reverse(s, source=ORDER, idempotency_key=key, now=NOW, points=n)
        return [e.points for e in out]


def test_partial_reversals_add_up_to_at_most_what_was_earned(world: World) -> None:
    pid = world.patient_a.id
    earn(world.a, pid, 100, "order:7:paid", source=ORDER)
    earn(world.a, pid, 50, "other")

    assert _reverse(world, "r1", 30) == [-30]
    assert _reverse(world, "r1", 30) == [-30]  # the same refund again: the same entry
    assert _reverse(world, "r2", 90) == [-70]  # only 70 of the order's 100 are left
    assert _reverse(world, "r3", 10) == []  # nothing left to take back

    assert check(world.a, pid).balance == 50
    assert check(world.a, pid).ok


def test_a_partial_reversal_under_allow_negative_goes_below_zero(world: World) -> None:
    pid = world.patient_a.id
    set_policy(world.a, NegativePolicy.ALLOW_NEGATIVE)
    earn(world.a, pid, 100, "order:7:paid", source=ORDER)
    with tenant_session(world.a.id) as s:
        points.redeem(
            s,
            actor=world.patient_a,
            patient_id=pid,
            points=90,
            reason="spent",
            source=None,
            idempotency_key="spend",
            now=NOW,
        )

    assert _reverse(world, "r1", 40) == [-40]

    assert check(world.a, pid).balance == -30
    assert check(world.a, pid).ok


@pytest.mark.parametrize("bad", [0, -5, True, "10"])
def test_a_partial_reversal_needs_a_positive_whole_number(world: World, bad: object) -> None:
    earn(world.a, world.patient_a.id, 100, "order:7:paid", source=ORDER)
    with pytest.raises(FieldErrors):
        _reverse(world, "r1", bad)  # type: ignore[arg-type]
    assert check(world.a, world.patient_a.id).balance == 100


def test_a_partial_reversal_of_another_tenant_source_finds_nothing(world: World) -> None:
    earn(world.a, world.patient_a.id, 100, "order:7:paid", source=ORDER)
    with tenant_session(world.b.id) as s:
        assert points.reverse(s, source=ORDER, idempotency_key="r1", now=NOW, points=50) == []
    assert check(world.a, world.patient_a.id).balance == 100
