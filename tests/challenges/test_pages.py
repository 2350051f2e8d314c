"""The patient's challenge pages: they build, their rows say what the services
returned in the patient's language, the check-in form becomes the service's
values; and the one-challenge lookup they use hides drafts and other tenants."""

from __future__ import annotations

import pytest

from pages.patient.challenges import (
    challenge_page,
    challenge_row,
    challenges_page,
    checkin_values,
    leader_row,
    number_text,
    progress_row,
)
from prm_saas.challenges import services
from prm_saas.challenges.models import Challenge
from tenants.db import tenant_session
from tenants.errors import NotFound
from tests.challenges.builders import START, at, check_in, join, make_challenge
from tests.factories import World


def test_the_pages_build() -> None:
    for build in (challenges_page, challenge_page):
        assert build() is not None


def test_numbers_show_without_trailing_zeros() -> None:
    assert [number_text(x) for x in (10000.0, 5.5, 0.0, 140.25, None)] == [
        "10000",
        "5.5",
        "0",
        "140.25",
        "",
    ]


def _challenge(world: World, **kw: object) -> Challenge:
    cid = make_challenge(world.a, world.admin_a, **kw)  # type: ignore[arg-type]
    with tenant_session(world.a.id) as s:
        return services.challenge_for_patient(
            session=s, actor=world.patient_a, challenge_id=cid
        ).challenge


def test_a_challenge_row_in_both_languages(world: World) -> None:
    c = _challenge(
        world,
        title_zh="万步走",
        title_en="10k steps",
        value_kind="number",
        unit="步",
        threshold="10000",
        streak_rule="consecutive",
        target_days=7,
        reward_points=50,
        badge_name="健步达人",
    )
    zh, en = challenge_row(c, False, "zh-CN"), challenge_row(c, True, "en")
    assert (zh["title"], en["title"]) == ("万步走", "10k steps")
    assert zh["rule"] == "当天 ≥ 10000 步 计入"
    assert en["rule"] == "A day counts at ≥ 10000 步"
    assert (zh["target"], en["target"]) == ("连续 7 天", "7 days in a row")
    assert (zh["reward"], zh["badge"], zh["kind"], zh["status"]) == (
        "50",
        "健步达人",
        "number",
        "published",
    )
    assert (zh["joined"], en["joined"]) == ("", "1")
    assert zh["dates"] == "2026-12-01 – 2026-12-21"
    # No English title: the Chinese one, not an empty heading.
    plain = _challenge(world, title_zh="打卡", title_en="")
    assert challenge_row(plain, False, "en")["title"] == "打卡"
    assert challenge_row(plain, False, "en")["rule"] == "A check-in makes the day count"
    assert challenge_row(plain, False, "zh-CN")["target"] == "累计 3 天"


def test_a_blood_pressure_rule_shows_both_limits(world: World) -> None:
    c = _challenge(
        world, value_kind="pair", unit="mmHg", comparison="<=", threshold=140, threshold2=90
    )
    assert challenge_row(c, False, "zh-CN")["rule"] == "当天 ≤ 140/90 mmHg 计入"


def test_progress_and_leaderboard_rows(world: World) -> None:
    cid = make_challenge(world.a, world.admin_a, target_days=3, reward_points=20)
    join(world.a, world.patient_a, cid, "跑者")
    first = check_in(world.a, world.patient_a, cid, at(START))
    row = progress_row(first)
    assert (row["days"], row["target"], row["percent"], row["today"], row["completed"]) == (
        "1",
        "3",
        "33",
        "1",
        "",
    )
    for d in (1, 2):
        last = check_in(world.a, world.patient_a, cid, at(START.replace(day=START.day + d)))
    row = progress_row(last)
    assert (row["percent"], row["streak"], row["best"], row["completed"], row["rewarded"]) == (
        "100",
        "3",
        "3",
        "1",
        "1",
    )
    with tenant_session(world.a.id) as s:
        board = services.leaderboard(session=s, actor=world.patient_a, challenge_id=cid)
    assert [leader_row(r) for r in board] == [
        {"rank": "1", "nickname": "跑者", "score": "3", "completed": "1", "me": "1"}
    ]


@pytest.mark.parametrize(
    ("kind", "form", "values"),
    [
        ("checkin", {"value": "5"}, []),
        ("number", {"value": "10000", "value2": "9"}, ["10000"]),
        ("pair", {"value": "130", "value2": "85"}, ["130", "85"]),
        ("pair", {"value": ["x"], "value2": None}, ["", ""]),  # junk from a client: blanks
        ("number", "not a form", [""]),
    ],
)
def test_the_check_in_form_becomes_the_services_values(
    kind: str, form: object, values: list[str]
) -> None:
    assert checkin_values(form, kind) == values  # type: ignore[arg-type]


def test_one_challenge_for_a_patient_hides_drafts_and_other_tenants(world: World) -> None:
    cid_a = make_challenge(world.a, world.admin_a)
    draft = make_challenge(world.a, world.admin_a, publish=False)
    cid_b = make_challenge(world.b, world.admin_b)
    with tenant_session(world.a.id) as s:
        card = services.challenge_for_patient(session=s, actor=world.patient_a, challenge_id=cid_a)
        assert (card.challenge.id, card.joined) == (cid_a, False)
    join(world.a, world.patient_a, cid_a)
    with tenant_session(world.a.id) as s:
        assert services.challenge_for_patient(
            session=s, actor=world.patient_a, challenge_id=str(cid_a)
        ).joined
    for cid in (draft, cid_b, cid_b + 1000, "abc"):
        with tenant_session(world.a.id) as s, pytest.raises(NotFound) as e:
            services.challenge_for_patient(session=s, actor=world.patient_a, challenge_id=cid)
        assert e.value.key == "error.not_found"
    # B's patient acting in A's tenant: the same not found.
    with tenant_session(world.a.id) as s, pytest.raises(NotFound):
        services.challenge_for_patient(session=s, actor=world.patient_b, challenge_id=cid_a)
