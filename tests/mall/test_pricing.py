"""Eligibility (sex, age on the exam day) and pricing for booking."""

from __future__ import annotations

from datetime import date

import pytest

from prm_saas.i18n import translate
from prm_saas.mall.models import HealthPackage, TargetSex
from prm_saas.mall.services import age_on, check_eligibility, package_for_booking
from tenants.db import tenant_session
from tenants.errors import DomainError, NotFound
from tests.factories import World
from tests.mall.builders import make_item, make_location, make_package


def _pkg(sex: TargetSex = TargetSex.ANY, lo: int = 0, hi: int = 120) -> HealthPackage:
    return HealthPackage(code="X", name_zh="x", target_sex=sex, min_age=lo, max_age=hi)


EXAM = date(2027, 3, 10)


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2000, 3, 10), date(2018, 3, 10), 18),  # birthday on the day
        (date(2000, 3, 11), date(2018, 3, 10), 17),  # the day before the birthday
        (date(2000, 2, 29), date(2018, 2, 28), 17),  # leap-day birth, common year
        (date(2000, 2, 29), date(2018, 3, 1), 18),
        (date(2000, 2, 29), date(2020, 2, 29), 20),
    ],
)
def test_age_counts_full_years_on_the_day(birth: date, day: date, age: int) -> None:
    assert age_on(birth, day) == age


def test_birthday_on_the_exam_day_makes_the_patient_old_enough() -> None:
    pkg = _pkg(lo=18, hi=40)
    assert (
        check_eligibility(package=pkg, sex="male", birth_date=date(2009, 3, 10), on_day=EXAM)
        is None
    )
    assert (
        check_eligibility(package=pkg, sex="male", birth_date=date(2009, 3, 11), on_day=EXAM)
        == "booking.too_young"
    )


def test_max_age_is_inclusive_until_the_next_birthday() -> None:
    pkg = _pkg(lo=18, hi=40)
    # 40 until the day before turning 41
    assert (
        check_eligibility(package=pkg, sex="female", birth_date=date(1986, 3, 11), on_day=EXAM)
        is None
    )
    assert (
        check_eligibility(package=pkg, sex="female", birth_date=date(1986, 3, 10), on_day=EXAM)
        == "booking.too_old"
    )


def test_sex_restricted_package() -> None:
    pkg = _pkg(sex=TargetSex.FEMALE)
    assert check_eligibility(package=pkg, sex="female", birth_date=None, on_day=EXAM) is None
    assert (
        check_eligibility(package=pkg, sex="male", birth_date=None, on_day=EXAM)
        == "booking.wrong_sex"
    )
    for unknown in ("unknown", "", "x"):
        assert (
            check_eligibility(package=pkg, sex=unknown, birth_date=None, on_day=EXAM)
            == "booking.sex_required"
        )


def test_unknown_birth_date_passes_only_packages_without_an_age_limit() -> None:
    assert check_eligibility(package=_pkg(), sex="unknown", birth_date=None, on_day=EXAM) is None
    for pkg in (_pkg(lo=1), _pkg(hi=60)):
        assert (
            check_eligibility(package=pkg, sex="male", birth_date=None, on_day=EXAM)
            == "booking.birth_date_required"
        )
    # a birth date after the exam day is no birth date
    assert (
        check_eligibility(package=_pkg(hi=60), sex="male", birth_date=date(2028, 1, 1), on_day=EXAM)
        == "booking.birth_date_required"
    )


def test_sex_is_checked_before_age() -> None:
    pkg = _pkg(sex=TargetSex.MALE, lo=40)
    assert (
        check_eligibility(package=pkg, sex="female", birth_date=date(2010, 1, 1), on_day=EXAM)
        == "booking.wrong_sex"
    )


def test_messages_exist_in_both_languages() -> None:
    for key in ("booking.wrong_sex", "booking.too_young", "booking.too_old", "booking.not_offered"):
        assert translate(key, "en") != key
        assert translate(key, "zh-CN") != translate(key, "en")


# --- package_for_booking ---------------------------------------------------------------


def test_prices_the_package_with_addons_and_collects_resources(world: World) -> None:
    loc = make_location(world.a)
    blood = make_item(world.a, name="血常规")
    ct = make_item(world.a, name="胸部CT", resource_key="ct")
    gastro = make_item(world.a, name="无痛胃镜", resource_key="gastroscopy", price_fen=90000)
    tumor = make_item(world.a, name="肿瘤标志物")
    pkg = make_package(
        world.a,
        item_ids=[blood, ct],
        addons={gastro: 80000, tumor: 30000},
        location_ids=[loc],
        sale_price_fen=49900,
    )
    with tenant_session(world.a.id) as s:
        priced = package_for_booking(
            session=s, package_id=pkg.id, location_id=loc, addon_item_ids=[gastro, gastro]
        )
    assert priced.package.id == pkg.id
    assert [(a.item.id, a.price_fen) for a in priced.addons] == [(gastro, 80000)]
    assert priced.resource_keys == {"ct", "gastroscopy"}
    assert [(ln.kind, ln.ref_id, ln.amount_fen) for ln in priced.lines] == [
        ("package", pkg.id, 49900),
        ("addon", gastro, 80000),  # the package's add-on price, not the item's list price
    ]
    assert priced.lines[1].name == "无痛胃镜"
    assert priced.total_fen == 129900

    with tenant_session(world.a.id) as s:
        plain = package_for_booking(
            session=s, package_id=pkg.id, location_id=loc, addon_item_ids=[]
        )
    assert plain.resource_keys == {"ct"}
    assert plain.total_fen == 49900


def test_not_offered_unpublished_and_unknown_addons_are_refused(world: World) -> None:
    loc = make_location(world.a)
    other_loc = make_location(world.a, name="分院")
    closed_loc = make_location(world.a, name="旧院", active=False)
    item = make_item(world.a)
    addon = make_item(world.a, name="加项")
    off = make_item(world.a, name="停用加项", active=False)
    pkg = make_package(
        world.a, item_ids=[item], addons={addon: 100, off: 100}, location_ids=[loc, closed_loc]
    )
    hidden = make_package(world.a, item_ids=[item], location_ids=[loc], published=False)
    b_loc = make_location(world.b)

    def price(package_id: object, location_id: object, addons: list[object]) -> object:
        with tenant_session(world.a.id) as s:
            return package_for_booking(
                session=s,
                package_id=package_id,  # type: ignore[arg-type]
                location_id=location_id,  # type: ignore[arg-type]
                addon_item_ids=addons,  # type: ignore[arg-type]
            )

    for loc_id in (other_loc, closed_loc, b_loc, 999999, "x", True, None):
        with pytest.raises(DomainError) as e:
            price(pkg.id, loc_id, [])
        assert e.value.key == "booking.not_offered"
    with pytest.raises(DomainError) as e:
        price(hidden.id, loc, [])
    assert e.value.key == "mall.package_unavailable"
    for bad in ([item], [off], [999999], ["x"], [None], [True]):
        with pytest.raises(DomainError) as e:
            price(pkg.id, loc, bad)
        assert e.value.key == "mall.addon_unavailable", bad


def test_another_tenants_package_is_not_found_like_a_missing_one(world: World) -> None:
    b_loc = make_location(world.b)
    b_pkg = make_package(world.b, item_ids=[make_item(world.b)], location_ids=[b_loc])
    for pid in (b_pkg.id, 999999, "abc"):
        with tenant_session(world.a.id) as s, pytest.raises(NotFound):
            package_for_booking(session=s, package_id=pid, location_id=b_loc, addon_item_ids=[])  # type: ignore[arg-type]
    # and in its own tenant it prices fine
    with tenant_session(world.b.id) as s:
        assert (
            package_for_booking(
                session=s, package_id=b_pkg.id, location_id=b_loc, addon_item_ids=[]
            ).total_fen
            == 49900
        )
