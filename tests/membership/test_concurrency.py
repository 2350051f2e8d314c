"""Points under real concurrency: threads, each with its own session and
connection, spend one balance or repeat one key (the big races on PostgreSQL; a
small one on every database)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import col, func, select

from prm_saas.membership import points
from prm_saas.membership.models import PointsEntry
from tenants.db import tenant_session
from tests.concurrency import race
from tests.factories import World
from tests.membership.helpers import NOW, check, earn


def _redeem(world: World, key: str) -> None:
    with tenant_session(world.a.id) as s:
        points.redeem(
            s,
            actor=world.patient_a,
            patient_id=world.patient_a.id,
            points=10,
            reason="coupon",
            source=None,
            idempotency_key=key,
            now=NOW,
        )


def _count(world: World, kind: str) -> int:
    with tenant_session(world.a.id) as s:
        return int(
            s.exec(
                select(func.count()).select_from(PointsEntry).where(col(PointsEntry.kind) == kind)
            ).one()
        )


@pytest.mark.postgres_only
def test_100_redemptions_against_a_balance_for_10_make_exactly_10(world: World) -> None:
    earn(world.a, world.patient_a.id, 60, "e1")
    earn(world.a, world.patient_a.id, 40, "e2")

    out = race(100, lambda i: _redeem(world, f"r{i}"))

    assert out == Counter({"ok": 10, "points.insufficient": 90})
    assert _count(world, "redeem") == 10
    assert check(world.a, world.patient_a.id).balance == 0
    assert check(world.a, world.patient_a.id).ok


@pytest.mark.postgres_only
def test_the_same_key_from_20_threads_makes_one_entry(world: World) -> None:
    earn(world.a, world.patient_a.id, 100, "e1")

    out = race(20, lambda i: _redeem(world, "one-key"))

    assert out == Counter({"ok": 20})
    assert _count(world, "redeem") == 1
    assert check(world.a, world.patient_a.id).balance == 90


@pytest.mark.postgres_only
def test_the_same_earn_key_from_20_threads_credits_once(world: World) -> None:
    out = race(20, lambda i: earn(world.a, world.patient_a.id, 100, "order-7"))

    assert out == Counter({"ok": 20})
    assert _count(world, "earn") == 1
    assert check(world.a, world.patient_a.id).balance == 100
    assert check(world.a, world.patient_a.id).ok


def test_a_few_concurrent_redemptions_on_any_database(world: World) -> None:
    earn(world.a, world.patient_a.id, 30, "e1")

    out = race(6, lambda i: _redeem(world, f"r{i}"))

    assert out == Counter({"ok": 3, "points.insufficient": 3})
    assert check(world.a, world.patient_a.id).balance == 0
