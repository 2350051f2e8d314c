"""The admin's participation view of a challenge: who joined (nickname, name, a
masked phone), days counted, streaks and completion, furthest first; staff
without CHALLENGES_MANAGE and the other tenant get nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prm_saas.challenges import services
from prm_saas.challenges.models import StreakRule
from tenants.db import tenant_session
from tenants.errors import NotFound, PermissionDenied
from tests.challenges.builders import START, at, check_in, join, make_challenge
from tests.factories import World, make_patient


def test_participation_lists_participants_furthest_first_with_their_progress(
    world: World,
) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=2, reward_points=50)
    slow = make_patient(world.a, name="慢慢", phone="+8613911112222")
    join(world.a, world.patient_a, cid, "快跑")
    join(world.a, slow, cid, "慢走")
    check_in(world.a, world.patient_a, cid, at(START))
    check_in(world.a, world.patient_a, cid, at(START + timedelta(days=1)))
    check_in(world.a, slow, cid, at(START))

    with tenant_session(world.a.id) as s:
        view = services.participation(
            session=s, actor=world.admin_a, challenge_id=cid, now=at(START + timedelta(days=1))
        )
    assert (view.participants, view.completed) == (2, 1)
    assert [(r.nickname, r.days_counted, r.best_streak) for r in view.rows] == [
        ("快跑", 2, 2),
        ("慢走", 1, 1),
    ]
    fast, other = view.rows
    assert fast.completed_at is not None
    assert fast.reward_given
    assert fast.current_streak == 2
    assert other.completed_at is None
    assert not other.reward_given
    assert other.patient_name == "慢慢"
    assert other.patient_phone == "139 **** 2222"
    assert other.last_counted_on == START


def test_a_missed_day_breaks_the_current_streak_but_not_the_best(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=5, streak_rule=StreakRule.CONSECUTIVE)
    join(world.a, world.patient_a, cid)
    check_in(world.a, world.patient_a, cid, at(START))
    check_in(world.a, world.patient_a, cid, at(START + timedelta(days=1)))
    with tenant_session(world.a.id) as s:
        later = services.participation(
            session=s, actor=world.admin_a, challenge_id=cid, now=at(START + timedelta(days=4))
        )
    (row,) = later.rows
    assert (row.current_streak, row.best_streak, row.days_counted) == (0, 2, 2)


def test_participation_needs_challenges_manage_in_this_tenant(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a)
    for actor, error in [
        (world.staff_a, PermissionDenied),
        (world.patient_a, PermissionDenied),
        (world.admin_b, NotFound),
        (None, NotFound),
    ]:
        with tenant_session(world.a.id) as s, pytest.raises(error):
            services.participation(session=s, actor=actor, challenge_id=cid, now=at(START))


def test_another_tenants_challenge_is_the_same_not_found_as_a_missing_one(world: World) -> None:
    cid_b = make_challenge(world.b, world.admin_b)
    join(world.b, world.patient_b, cid_b)
    for cid in (cid_b, cid_b + 1000, "1 OR 1=1"):
        with tenant_session(world.a.id) as s, pytest.raises(NotFound) as e:
            services.participation(
                session=s,
                actor=world.admin_a,
                challenge_id=cid,  # type: ignore[arg-type]
                now=at(START),
            )
        assert e.value.key == "error.not_found"
    # A draft with nobody in it: an empty list, not an error.
    draft = make_challenge(world.a, world.admin_a, publish=False)
    with tenant_session(world.a.id) as s:
        view = services.participation(
            session=s, actor=world.admin_a, challenge_id=draft, now=at(START)
        )
    assert (view.rows, view.participants, view.completed) == ([], 0, 0)
