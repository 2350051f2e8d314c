"""Each condition of the registry, evaluated by the database, in two tenants: the
same set-up in tenant B never shows up in tenant A's matches (and vice versa)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from prm_saas.accounts.models import Sex
from prm_saas.booking.models import BookingStatus as BS
from prm_saas.i18n import translate
from prm_saas.orders.models import OrderStatus
from prm_saas.tags import services
from prm_saas.tags.conditions import REGISTRY
from prm_saas.tags.models import TagKind, TagRule
from tenants.db import tenant_session
from tenants.errors import FieldErrors
from tenants.resolution import TenantInfo
from tests.factories import World
from tests.tags import builders as b
from tests.tags.builders import NOW, TODAY

# A set-up writes one tenant's data and returns (the conditions, who must match,
# who must not).
Setup = Callable[[TenantInfo], tuple[Any, set[int], set[int]]]


def _ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _age(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    yes = {
        b.patient(t, birth_date=date(1976, 12, 2)),  # 49 today
        b.patient(t, birth_date=date(1986, 12, 1)),  # 40 today
    }
    no = {
        b.patient(t, birth_date=date(1976, 12, 1)),  # 50 today
        b.patient(t, birth_date=date(1986, 12, 2)),  # 39 until tomorrow
        b.patient(t),  # no birth date
    }
    return [{"key": "age_band", "params": {"min_age": 40, "max_age": 49}}], yes, no


def _sex(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    yes = {b.patient(t, sex=Sex.FEMALE)}
    no = {b.patient(t, sex=Sex.MALE), b.patient(t)}
    return [{"key": "sex", "params": {"sex": "female"}}], yes, no


def _days_since(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    p1, p2, p3, p4, p5, p6 = (b.patient(t) for _ in range(6))
    b.booking(t, p1, _ago(45), BS.COMPLETED)  # last visit 45 days ago
    b.booking(t, p2, _ago(10), BS.CHECKED_IN)  # too recent
    b.booking(t, p3, _ago(100), BS.COMPLETED)  # too long ago
    b.booking(t, p4, _ago(45), BS.NO_SHOW)  # not a visit
    b.booking(t, p5, _ago(100), BS.COMPLETED)
    b.booking(t, p5, _ago(30), BS.CHECKED_IN)  # the last one counts: 30 days
    b.booking(t, p6, _ago(45), BS.COMPLETED)
    b.booking(t, p6, _ago(5), BS.COMPLETED)  # came back since
    cond = [{"key": "days_since_visit", "params": {"min_days": 30, "max_days": 90}}]
    return cond, {p1, p5}, {p2, p3, p4, p6}


def _package(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    pkg, other = b.package(t), b.package(t)
    p1, p2, p3, p4, p5 = (b.patient(t) for _ in range(5))
    b.order(t, p1, pkg)
    b.order(t, p2, pkg, status=OrderStatus.PENDING_PAYMENT)
    b.order(t, p3, other)
    b.order(t, p4, pkg, status=OrderStatus.REFUNDED)
    b.order(t, p5, pkg, status=OrderStatus.PARTIALLY_REFUNDED)
    return [{"key": "package_bought", "params": {"package_id": pkg}}], {p1, p5}, {p2, p3, p4}


def _package_recent(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    pkg = b.package(t)
    p1, p2 = b.patient(t), b.patient(t)
    b.order(t, p1, pkg, paid_at=NOW - timedelta(days=20))
    b.order(t, p2, pkg, paid_at=NOW - timedelta(days=40))
    cond = [{"key": "package_bought", "params": {"package_id": pkg, "within_days": 30}}]
    return cond, {p1}, {p2}


def _booking_status(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    p1, p2, p3 = (b.patient(t) for _ in range(3))
    b.booking(t, p1, TODAY + timedelta(days=3), BS.CONFIRMED)
    b.booking(t, p2, TODAY + timedelta(days=3), BS.CANCELLED)
    b.booking(t, p3, _ago(60), BS.CONFIRMED)  # outside the window
    cond = [{"key": "booking_status", "params": {"status": "confirmed", "within_days": 30}}]
    return cond, {p1}, {p2, p3}


def _no_shows(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    p1, p2, p3 = (b.patient(t) for _ in range(3))
    b.booking(t, p1, _ago(3), BS.NO_SHOW)
    b.booking(t, p1, _ago(20), BS.NO_SHOW)
    b.booking(t, p2, _ago(3), BS.NO_SHOW)
    b.booking(t, p3, _ago(3), BS.COMPLETED)
    return [{"key": "no_show_count", "params": {"min_count": 2}}], {p1}, {p2, p3}


def _no_shows_none(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    p1, p2, p3 = (b.patient(t) for _ in range(3))
    b.booking(t, p1, _ago(3), BS.NO_SHOW)
    b.booking(t, p2, _ago(3), BS.COMPLETED)
    cond = [{"key": "no_show_count", "params": {"min_count": 0, "max_count": 0}}]
    return cond, {p2, p3}, {p1}


def _level(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    silver, gold = b.level(t, 1), b.level(t, 2)
    p1, p2, p3 = (b.patient(t) for _ in range(3))
    b.card(t, p1, gold)
    b.card(t, p2, silver)
    return [{"key": "member_level", "params": {"level_id": gold}}], {p1}, {p2, p3}


def _points(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    p1, p2, p3 = (b.patient(t) for _ in range(3))
    b.balance(t, p1, 150)
    b.balance(t, p2, 50)
    return [{"key": "points_balance", "params": {"min_points": 100}}], {p1}, {p2, p3}


def _points_zero(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    p1, p2, p3 = (b.patient(t) for _ in range(3))
    b.balance(t, p1, 0)
    b.balance(t, p2, 50)
    return [{"key": "points_balance", "params": {"max_points": 0}}], {p1, p3}, {p2}


def _joined(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    c1, c2 = b.challenge(t), b.challenge(t)
    p1, p2, p3 = (b.patient(t) for _ in range(3))
    b.participant(t, c1, p1)
    b.participant(t, c2, p2)
    return [{"key": "challenge_joined", "params": {"challenge_id": c1}}], {p1}, {p2, p3}


def _completed(t: TenantInfo) -> tuple[Any, set[int], set[int]]:
    c1 = b.challenge(t)
    p1, p2, p3 = (b.patient(t) for _ in range(3))
    b.participant(t, c1, p1, completed=True)
    b.participant(t, c1, p2)
    return [{"key": "challenge_completed", "params": {}}], {p1}, {p2, p3}


CASES: dict[str, Setup] = {
    "age_band": _age,
    "sex": _sex,
    "days_since_visit": _days_since,
    "package_bought": _package,
    "package_bought_within": _package_recent,
    "booking_status": _booking_status,
    "no_show_count": _no_shows,
    "no_show_count_zero": _no_shows_none,
    "member_level": _level,
    "points_balance": _points,
    "points_balance_zero": _points_zero,
    "challenge_joined": _joined,
    "challenge_completed": _completed,
}


def test_every_registered_condition_has_a_case() -> None:
    assert {k.removesuffix("_within").removesuffix("_zero") for k in CASES} == set(REGISTRY)
    for spec in REGISTRY.values():
        assert translate(spec.label_key, "zh-CN") != translate(spec.label_key, "en")


@pytest.mark.parametrize("case", sorted(CASES))
def test_condition_matches_in_its_tenant_only(world: World, case: str) -> None:
    cond_a, yes_a, no_a = CASES[case](world.a)
    cond_b, yes_b, no_b = CASES[case](world.b)
    got_a = b.matches(world.a, world.admin_a, cond_a)
    got_b = b.matches(world.b, world.admin_b, cond_b)
    # Each tenant's set-up patients are classified right; the fixture's own patient
    # (world.patient_a) matches only the "nothing recorded" cases.
    assert yes_a <= got_a
    assert not (no_a & got_a)
    assert yes_b <= got_b
    assert not (no_b & got_b)
    # Nothing of tenant B is ever in tenant A's matches, and the other way round.
    assert not (got_a & (yes_b | no_b | {world.patient_b.id}))
    assert not (got_b & (yes_a | no_a | {world.patient_a.id}))


def test_age_is_counted_in_the_tenants_local_date(world: World) -> None:
    """01:00 on 1 December in Shanghai is still 30 November in UTC: a patient born on
    1 December 1986 is 40 there already."""
    pid = b.patient(world.a, birth_date=date(1986, 12, 1))
    cond = [{"key": "age_band", "params": {"min_age": 40}}]
    assert pid in b.matches(
        world.a, world.admin_a, cond, now=datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    )
    assert pid not in b.matches(
        world.a, world.admin_a, cond, now=datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    )


def test_days_since_visit_counts_local_days(world: World) -> None:
    pid = b.patient(world.a)
    b.booking(world.a, pid, date(2026, 11, 1), BS.COMPLETED)
    cond = [{"key": "days_since_visit", "params": {"min_days": 30}}]
    # 1 December 01:00 in Shanghai (30 November in UTC): 30 local days since 1 November.
    assert pid in b.matches(
        world.a, world.admin_a, cond, now=datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    )
    assert pid not in b.matches(
        world.a, world.admin_a, cond, now=datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    )


def test_conditions_combine_with_and(world: World) -> None:
    woman = b.patient(world.a, sex=Sex.FEMALE, birth_date=date(1980, 1, 1))
    b.patient(world.a, sex=Sex.FEMALE, birth_date=date(2000, 1, 1))
    b.patient(world.a, sex=Sex.MALE, birth_date=date(1980, 1, 1))
    cond = [
        {"key": "sex", "params": {"sex": "female"}},
        {"key": "age_band", "params": {"min_age": 40}},
    ]
    assert b.matches(world.a, world.admin_a, cond) == {woman}


BAD: list[tuple[Any, str, str, str, str]] = [
    # (conditions, field, key, zh-CN, en)
    (
        [],
        "conditions",
        "tags.field.conditions_required",
        "请至少添加一个条件。",
        "Add at least one condition.",
    ),
    (
        "not json",
        "conditions",
        "tags.field.conditions_required",
        "请至少添加一个条件。",
        "Add at least one condition.",
    ),
    (
        [{"key": "zodiac", "params": {}}],
        "conditions.0.key",
        "tags.field.condition_unknown",
        "未知的条件类型。",
        "Unknown kind of condition.",
    ),
    (
        [{"key": "age_band", "params": {"min_age": 200}}],
        "conditions.0.min_age",
        "tags.field.number_invalid",
        "请输入 0–150 之间的整数。",
        "Enter a whole number from 0 to 150.",
    ),
    (
        [{"key": "age_band", "params": {"min_age": "forty"}}],
        "conditions.0.min_age",
        "tags.field.number_invalid",
        "请输入 0–150 之间的整数。",
        "Enter a whole number from 0 to 150.",
    ),
    (
        [{"key": "age_band", "params": {"min_age": 50, "max_age": 40}}],
        "conditions.0.max_age",
        "tags.field.range_invalid",
        "上限不能小于下限。",
        "The upper bound cannot be below the lower bound.",
    ),
    (
        [{"key": "age_band", "params": {}}],
        "conditions.0.min_age",
        "tags.field.band_empty",
        "请至少填写下限或上限。",
        "Enter a lower or an upper bound.",
    ),
    (
        [{"key": "sex", "params": {"sex": "x"}}],
        "conditions.0.sex",
        "field.choice_invalid",
        "请选择有效的选项。",
        "Choose one of the options.",
    ),
    (
        [{"key": "days_since_visit", "params": {}}],
        "conditions.0.min_days",
        "field.required",
        "此项必填。",
        "This field is required.",
    ),
    (
        [
            {"key": "sex", "params": {"sex": "male"}},
            {"key": "member_level", "params": {"level_id": 999999}},
        ],
        "conditions.1.level_id",
        "tags.field.ref_unknown",
        "所选项目不存在。",
        "The chosen item does not exist.",
    ),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_conditions_are_refused_with_a_message_and_nothing_written(
    world: World, case: int
) -> None:
    conditions, field, key, zh, en = BAD[case]
    tid = b.tag(world.a, world.admin_a, "自动", TagKind.AUTO)
    for call in ("preview", "create"):
        with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
            if call == "preview":
                services.preview_rule(
                    session=s, actor=world.admin_a, conditions=conditions, now=NOW
                )
            else:
                services.create_rule(
                    session=s,
                    actor=world.admin_a,
                    tag_id=tid,
                    conditions=conditions,
                    confirm_empty=True,
                    now=NOW,
                )
        got_key, params = exc.value.errors[field]
        assert got_key == key
        assert translate(got_key, "zh-CN", **params) == zh
        assert translate(got_key, "en", **params) == en
    with tenant_session(world.a.id) as s:
        assert s.exec(select(TagRule)).all() == []


def test_a_level_of_another_tenant_is_unknown(world: World) -> None:
    lv_b = b.level(world.b, 1)
    with pytest.raises(FieldErrors) as exc, tenant_session(world.a.id) as s:
        services.preview_rule(
            session=s,
            actor=world.admin_a,
            conditions=[{"key": "member_level", "params": {"level_id": lv_b}}],
            now=NOW,
        )
    assert exc.value.errors["conditions.0.level_id"][0] == "tags.field.ref_unknown"
