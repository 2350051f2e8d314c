"""The patient's mall: search, filters, order, detail; only published things."""

from __future__ import annotations

import pytest

from prm_saas.mall.models import TargetSex
from prm_saas.mall.services import (
    mall_categories,
    mall_locations,
    package_detail,
    published_packages,
)
from tenants.db import tenant_session
from tenants.errors import NotFound
from tests.factories import World
from tests.mall.builders import make_category, make_item, make_location, make_package


def _ids(world: World, **filters: object) -> list[int]:
    with tenant_session(world.a.id) as s:
        return [c.id for c in published_packages(session=s, **filters)]  # type: ignore[arg-type]


def test_search_matches_names_summaries_and_item_names_in_both_languages(world: World) -> None:
    ct = make_item(world.a, name="胸部CT", name_en="Chest CT", resource_key="ct")
    blood = make_item(world.a, name="血常规", name_en="Complete blood count")
    off = make_item(world.a, name="骨密度", name_en="Bone density", active=False)
    p1 = make_package(
        world.a, name="入职基础套餐", name_en="Pre-employment basic", item_ids=[blood]
    )
    p2 = make_package(
        world.a, name="深度套餐", name_en="Deep", summary="含肺部低剂量CT", item_ids=[blood]
    )
    p3 = make_package(world.a, name="中老年套餐", name_en="Seniors", item_ids=[ct, off])
    make_package(world.a, name="未发布入职套餐", item_ids=[blood], published=False)
    make_package(world.b, name="入职基础套餐", name_en="Pre-employment basic")

    assert _ids(world) == [p1.id, p2.id, p3.id]
    assert _ids(world, query="入职") == [p1.id]
    assert _ids(world, query="pre-EMPLOYMENT") == [p1.id]
    assert _ids(world, query="ct") == [p2.id, p3.id]  # summary zh, item name en
    assert _ids(world, query="胸部") == [p3.id]  # item name
    assert _ids(world, query="blood") == [p1.id, p2.id]
    assert _ids(world, query="骨密度") == []  # inactive items do not count
    assert _ids(world, query="  入职   basic ") == [p1.id]  # every word must match
    assert _ids(world, query="入职 seniors") == []
    assert _ids(world, query="%") == []  # LIKE wildcards are literal
    assert _ids(world, query="_") == []
    assert _ids(world, query=None) == [p1.id, p2.id, p3.id]  # a hostile client's value


def test_filters_category_location_sex_age_price(world: World) -> None:
    cat = make_category(world.a, name="女性专项")
    other_cat = make_category(world.a, name="入职体检")
    loc1 = make_location(world.a, name="总院")
    loc2 = make_location(world.a, name="分院")
    closed = make_location(world.a, name="旧院", active=False)
    women = make_package(
        world.a,
        target_sex=TargetSex.FEMALE,
        min_age=18,
        max_age=60,
        category_id=cat,
        location_ids=[loc1],
        sale_price_fen=80000,
    )
    men = make_package(
        world.a, target_sex=TargetSex.MALE, location_ids=[loc2], sale_price_fen=50000
    )
    anyone = make_package(
        world.a,
        min_age=40,
        category_id=other_cat,
        location_ids=[loc1, loc2, closed],
        sale_price_fen=30000,
    )
    assert _ids(world, category_id=cat) == [women.id]
    assert _ids(world, category_id=str(other_cat)) == [anyone.id]
    assert _ids(world, location_id=loc1) == [women.id, anyone.id]
    assert _ids(world, location_id=closed) == []
    assert _ids(world, sex="female") == [women.id, anyone.id]
    assert _ids(world, sex="male") == [men.id, anyone.id]
    assert _ids(world, sex="whatever") == [women.id, men.id, anyone.id]
    assert _ids(world, age=30) == [women.id, men.id]
    assert _ids(world, age=60) == [women.id, men.id, anyone.id]
    assert _ids(world, age=61) == [men.id, anyone.id]
    assert _ids(world, age="old") == [women.id, men.id, anyone.id]
    assert _ids(world, max_price_fen=50000) == [men.id, anyone.id]
    assert _ids(world, max_price_fen=29999) == []
    assert _ids(world, sex="female", age=45, location_id=loc2) == [anyone.id]


def test_sorted_by_sort_order_then_id(world: World) -> None:
    a = make_package(world.a, sort_order=5)
    b = make_package(world.a, sort_order=1)
    c = make_package(world.a, sort_order=5)
    assert _ids(world) == [b.id, a.id, c.id]


def test_card_prices_discount_item_count_and_category(world: World) -> None:
    cat = make_category(world.a, name="深度体检")
    items = [make_item(world.a), make_item(world.a), make_item(world.a, active=False)]
    p = make_package(
        world.a, item_ids=items, category_id=cat, list_price_fen=129900, sale_price_fen=99900
    )
    with tenant_session(world.a.id) as s:
        (card,) = published_packages(session=s)
    assert card.id == p.id
    assert (card.list_price_fen, card.sale_price_fen) == (129900, 99900)
    assert (card.discount_fen, card.discount_percent) == (30000, 23)
    assert card.item_count == 2
    assert (card.category_id, card.category_zh) == (cat, "深度体检")


def test_categories_and_locations_with_published_packages(world: World) -> None:
    used = make_category(world.a, name="用到", sort_order=2)
    first = make_category(world.a, name="先", sort_order=1)
    make_category(world.a, name="空")
    hidden_only = make_category(world.a, name="只有未发布")
    loc = make_location(world.a)
    make_location(world.a, name="无套餐")
    make_package(world.a, category_id=used, location_ids=[loc])
    make_package(world.a, category_id=first)
    make_package(world.a, category_id=hidden_only, published=False)
    with tenant_session(world.a.id) as s:
        assert [c.id for c in mall_categories(session=s)] == [first, used]
        assert [x.id for x in mall_locations(session=s)] == [loc]


def test_detail_shows_items_addons_locations_instructions(world: World) -> None:
    loc = make_location(world.a, name="总院")
    closed = make_location(world.a, name="旧院", active=False)
    blood = make_item(world.a, name="血常规", code="A1")
    ct = make_item(world.a, name="胸部CT", code="A2")
    off = make_item(world.a, name="停用", code="A3", active=False)
    gastro = make_item(world.a, name="无痛胃镜", code="B1", price_fen=99999)
    p = make_package(
        world.a,
        item_ids=[ct, blood, off],
        addons={gastro: 80000, off: 100},
        location_ids=[loc, closed],
        target_sex=TargetSex.FEMALE,
        min_age=30,
        max_age=70,
    )
    with tenant_session(world.a.id) as s:
        d = package_detail(session=s, package_id=p.id)
    assert [i.name_zh for i in d.items] == ["血常规", "胸部CT"]
    assert [(a.item_id, a.price_fen) for a in d.addons] == [(gastro, 80000)]
    assert [x.id for x in d.locations] == [loc]
    assert d.instructions_zh == "空腹8小时"
    assert d.card.fasting_required
    assert (d.card.target_sex, d.card.min_age, d.card.max_age) == ("female", 30, 70)


def test_detail_of_unpublished_missing_or_other_tenants_package_is_not_found(world: World) -> None:
    hidden = make_package(world.a, published=False)
    b_pkg = make_package(world.b)
    for pid in (hidden.id, b_pkg.id, 999999, "x", None):
        with tenant_session(world.a.id) as s, pytest.raises(NotFound):
            package_detail(session=s, package_id=pid)
    with tenant_session(world.b.id) as s:
        assert package_detail(session=s, package_id=b_pkg.id).id == b_pkg.id


def test_the_mall_of_one_tenant_never_lists_anothers(world: World) -> None:
    cat_b = make_category(world.b)
    loc_b = make_location(world.b)
    make_package(world.b, name="B的套餐", category_id=cat_b, location_ids=[loc_b])
    make_package(world.a, name="A的套餐")
    assert len(_ids(world)) == 1
    assert _ids(world, location_id=loc_b) == []
    assert _ids(world, category_id=cat_b) == []
    assert _ids(world, query="B的") == []
    with tenant_session(world.a.id) as s:
        assert mall_categories(session=s) == []
        assert mall_locations(session=s) == []
