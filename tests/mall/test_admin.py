"""Catalog management: validation (both languages), publishing rules, audit,
permissions, tenants, and nothing half-written on error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import col, select

from prm_saas.audit.models import AuditEvent
from prm_saas.i18n import translate
from prm_saas.mall.admin import (
    PackageInput,
    editor_choices,
    list_categories,
    list_items,
    list_packages,
    package_for_edit,
    save_category,
    save_item,
    save_package,
    set_published,
)
from prm_saas.mall.models import HealthPackage, PackageAddOn, PackageItem, PackageLocation
from prm_saas.mall.money import parse_yuan
from tenants.db import tenant_session
from tenants.errors import DomainError, FieldErrors, NotFound, PermissionDenied, TenantReadOnly
from tenants.models import TenantStatus
from tests.factories import World, change_status
from tests.mall.builders import make_category, make_item, make_location, make_package


def _as(world: World, actor: Any, fn: Callable[..., Any], tenant: Any = None, **kw: Any) -> Any:
    with tenant_session((tenant or world.a).id) as s:
        return fn(session=s, actor=actor, **kw)


def _errors(exc: FieldErrors, locale: str) -> dict[str, str]:
    return {f: translate(k, locale, **p) for f, (k, p) in exc.errors.items()}


def _input(world: World, **over: Any) -> PackageInput:
    base = PackageInput(
        code="emp-basic",
        name_zh="入职基础套餐",
        name_en="Pre-employment basic",
        list_price="699.00",
        sale_price="499",
        min_age="18",
        max_age="60",
        item_ids=[make_item(world.a, name="血常规")],
        location_ids=[make_location(world.a)],
    )
    return replace(base, **over)


# --- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1299.00", 129900),
        ("1299", 129900),
        ("0.29", 29),  # no float rounding: 0.29 * 100 is 28.999... in binary
        ("19.9", 1990),
        ("¥1,299.00", 129900),
        ("１２３.４５", 12345),  # full-width digits from a Chinese input method
        ("0", 0),
    ],
)
def test_yuan_text_becomes_exact_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["-1", "1.234", "1e3", "NaN", "Infinity", "abc", "", "1,23", "12 3", "99999999999"]
)
def test_bad_yuan_text_is_refused(text: str) -> None:
    assert parse_yuan(text) is None


# --- packages ---------------------------------------------------------------------------


def test_admin_creates_a_package_with_items_addons_locations(world: World) -> None:
    addon = make_item(world.a, name="无痛胃镜", resource_key="gastroscopy")
    cat = make_category(world.a)
    data = _input(world, addons={addon: "800.50"}, category_id=str(cat), fasting_required=True)
    pid = _as(world, world.admin_a, save_package, data=data)
    with tenant_session(world.a.id) as s:
        p = s.get(HealthPackage, pid)
        assert p is not None
        assert (p.code, p.list_price_fen, p.sale_price_fen) == ("EMP-BASIC", 69900, 49900)
        assert (p.min_age, p.max_age, p.category_id, p.fasting_required) == (18, 60, cat, True)
        assert not p.published  # new packages start off the shelf
        addons = s.exec(select(PackageAddOn).where(PackageAddOn.package_id == pid)).all()
        assert [(a.item_id, a.price_fen) for a in addons] == [(addon, 80050)]
    view = _as(world, world.admin_a, package_for_edit, package_id=pid)
    assert view.data.list_price == "699.00"
    assert view.data.addons == {addon: "800.50"}
    assert view.data.item_ids == data.item_ids
    assert view.data.location_ids == data.location_ids
    (row,) = _as(world, world.admin_a, list_packages)
    assert (row.item_count, row.addon_count, row.location_count) == (1, 1, 1)


def test_every_problem_is_reported_at_once_in_both_languages(world: World) -> None:
    data = _input(
        world,
        code="bad code!",
        name_zh="",
        list_price="12.345",
        sale_price="-5",
        min_age="70",
        max_age="abc",
        target_sex="robot",
    )
    with pytest.raises(FieldErrors) as e:
        _as(world, world.admin_a, save_package, data=data)
    en = _errors(e.value, "en")
    assert en == {
        "code": translate("mall.code_invalid", "en"),
        "name_zh": "This field is required.",
        "list_price": "Enter an amount in yuan with at most two decimals, e.g. 1299.00.",
        "sale_price": "Enter an amount in yuan with at most two decimals, e.g. 1299.00.",
        "max_age": "Ages are whole numbers from 0 to 120.",
        "target_sex": translate("field.choice_invalid", "en"),
    }
    zh = _errors(e.value, "zh-CN")
    assert zh["list_price"] == "请输入以元为单位的金额，最多两位小数，例如 1299.00。"
    assert zh["max_age"] == "年龄应为 0 到 120 之间的整数。"


def test_sale_above_list_and_min_above_max_are_refused(world: World) -> None:
    with pytest.raises(FieldErrors) as e:
        _as(
            world,
            world.admin_a,
            save_package,
            data=_input(world, list_price="100", sale_price="100.01", min_age="61", max_age="60"),
        )
    assert _errors(e.value, "en") == {
        "sale_price": "The sale price cannot be above the list price.",
        "max_age": "The maximum age cannot be below the minimum age.",
    }
    assert _errors(e.value, "zh-CN")["sale_price"] == "售价不能高于原价。"
    # equal prices and equal ages are fine
    pid = _as(
        world,
        world.admin_a,
        save_package,
        data=_input(world, list_price="100", sale_price="100.00", min_age="60", max_age="60"),
    )
    assert pid


def test_code_is_unique_per_tenant(world: World) -> None:
    _as(world, world.admin_a, save_package, data=_input(world))
    with pytest.raises(FieldErrors) as e:
        _as(world, world.admin_a, save_package, data=_input(world, code="EMP-basic"))
    assert e.value.errors["code"][0] == "mall.code_taken"
    # another tenant may use the same code
    b_data = PackageInput(code="EMP-BASIC", name_zh="B", list_price="1", sale_price="1")
    assert _as(world, world.admin_b, save_package, tenant=world.b, data=b_data)


def test_another_tenants_items_locations_categories_are_refused(world: World) -> None:
    b_item = make_item(world.b)
    b_loc = make_location(world.b)
    b_cat = make_category(world.b)
    for over in (
        {"item_ids": [b_item]},
        {"location_ids": [b_loc]},
        {"category_id": str(b_cat)},
        {"addons": {b_item: "10"}},
        {"item_ids": ["x"]},
        {"item_ids": "1,2"},
    ):
        with pytest.raises(FieldErrors) as e:
            _as(world, world.admin_a, save_package, data=_input(world, **over))
        assert {k for k, _ in e.value.errors.values()} == {"mall.choice_unknown"}, over
    with tenant_session(world.a.id) as s:
        assert s.exec(select(HealthPackage)).all() == []


def test_an_included_item_cannot_also_be_an_addon(world: World) -> None:
    data = _input(world)
    with pytest.raises(FieldErrors) as e:
        _as(world, world.admin_a, save_package, data=replace(data, addons={data.item_ids[0]: "5"}))
    assert _errors(e.value, "zh-CN")["addons"] == "「血常规」已包含在套餐中，不能再作为加项。"


def test_publishing_needs_items_and_locations(world: World) -> None:
    empty = _as(
        world, world.admin_a, save_package, data=_input(world, item_ids=[], location_ids=[])
    )
    with pytest.raises(DomainError) as e:
        _as(world, world.admin_a, set_published, package_id=empty, published=True)
    assert (
        translate(e.value.key, "en") == "A published package needs at least one active exam item."
    )
    no_loc = _as(world, world.admin_a, save_package, data=_input(world, code="P2", location_ids=[]))
    with pytest.raises(DomainError) as e:
        _as(world, world.admin_a, set_published, package_id=no_loc, published=True)
    assert e.value.key == "mall.publish_needs_locations"
    closed = make_location(world.a, active=False)
    only_closed = _as(
        world, world.admin_a, save_package, data=_input(world, code="P3", location_ids=[closed])
    )
    with pytest.raises(DomainError) as e:
        _as(world, world.admin_a, set_published, package_id=only_closed, published=True)
    assert e.value.key == "mall.publish_needs_locations"

    ok = _as(world, world.admin_a, save_package, data=_input(world, code="P4"))
    _as(world, world.admin_a, set_published, package_id=ok, published=True)
    _as(world, world.admin_a, set_published, package_id=ok, published=True)  # no-op
    _as(world, world.admin_a, set_published, package_id=empty, published=False)  # no-op
    with tenant_session(world.a.id) as s:
        assert [
            p.id for p in s.exec(select(HealthPackage).where(col(HealthPackage.published)))
        ] == [ok]
        actions = [
            a.action for a in s.exec(select(AuditEvent).where(AuditEvent.target_id == str(ok)))
        ]
    assert actions == ["mall.package_created", "mall.package_published"]
    _as(world, world.admin_a, set_published, package_id=ok, published=False)
    with tenant_session(world.a.id) as s:
        p = s.get(HealthPackage, ok)
        assert p is not None
        assert not p.published


def test_a_published_package_cannot_lose_all_its_items_and_nothing_is_written(
    world: World,
) -> None:
    data = _input(world)
    pid = _as(world, world.admin_a, save_package, data=data)
    _as(world, world.admin_a, set_published, package_id=pid, published=True)
    with pytest.raises(DomainError) as e:
        _as(
            world,
            world.admin_a,
            save_package,
            package_id=pid,
            data=replace(data, name_zh="改名", item_ids=[]),
        )
    assert e.value.key == "mall.publish_needs_items"
    with pytest.raises(DomainError) as e:
        _as(
            world,
            world.admin_a,
            save_package,
            package_id=pid,
            data=replace(data, name_zh="改名", location_ids=[]),
        )
    assert e.value.key == "mall.publish_needs_locations"
    with tenant_session(world.a.id) as s:
        p = s.get(HealthPackage, pid)
        assert p is not None
        assert p.name_zh == "入职基础套餐"
        assert len(s.exec(select(PackageItem).where(PackageItem.package_id == pid)).all()) == 1
        assert len(s.exec(select(PackageLocation)).all()) == 1


def test_a_failed_edit_changes_nothing(world: World) -> None:
    addon = make_item(world.a)
    data = _input(world, addons={addon: "10"})
    pid = _as(world, world.admin_a, save_package, data=data)
    new_item = make_item(world.a, name="新项目")
    with pytest.raises(FieldErrors):
        _as(
            world,
            world.admin_a,
            save_package,
            package_id=pid,
            data=replace(
                data, name_zh="新名字", item_ids=[new_item], addons={}, sale_price="1.001"
            ),
        )
    view = _as(world, world.admin_a, package_for_edit, package_id=pid)
    assert view.data == replace(
        data, code="EMP-BASIC", list_price="699.00", sale_price="499.00", addons={addon: "10.00"}
    )
    with tenant_session(world.a.id) as s:
        assert [a.action for a in s.exec(select(AuditEvent))] == ["mall.package_created"]


def test_edit_is_audited_with_price_changes(world: World) -> None:
    data = _input(world)
    pid = _as(world, world.admin_a, save_package, data=data, ip="10.0.0.1")
    _as(world, world.admin_a, save_package, package_id=pid, data=replace(data, sale_price="399"))
    with tenant_session(world.a.id) as s:
        last = s.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert last is not None
    assert last.action == "mall.package_updated"
    assert '"sale_price_fen": [49900, 39900]' in last.details


# --- items and categories ---------------------------------------------------------------


def test_items_code_unique_price_and_resource_key(world: World) -> None:
    iid = _as(
        world,
        world.admin_a,
        save_item,
        code="ct01",
        name_zh="胸部CT",
        price_yuan="350.00",
        resource_key=" CT ",
    )
    (row,) = _as(world, world.admin_a, list_items)
    assert (row.code, row.price_fen, row.price_yuan, row.resource_key) == (
        "CT01",
        35000,
        "350.00",
        "ct",
    )
    with pytest.raises(FieldErrors) as e:
        _as(
            world,
            world.admin_a,
            save_item,
            code="CT01",
            name_zh="重复",
            price_yuan="1.2.3",
            resource_key="CT scanner!",
        )
    assert {f: k for f, (k, _p) in e.value.errors.items()} == {
        "code": "mall.code_taken",
        "price": "mall.price_invalid",
        "resource_key": "mall.resource_key_invalid",
    }
    # saving the item under its own code is not a clash; B may use the code too
    _as(
        world,
        world.admin_a,
        save_item,
        item_id=iid,
        code="CT01",
        name_zh="胸部CT平扫",
        price_yuan="300",
    )
    assert _as(
        world, world.admin_b, save_item, tenant=world.b, code="CT01", name_zh="CT", price_yuan="1"
    )


def test_categories_are_saved_and_listed(world: World) -> None:
    cid = _as(
        world,
        world.admin_a,
        save_category,
        name_zh="入职体检",
        name_en="Pre-employment",
        sort_order="2",
    )
    _as(world, world.admin_a, save_category, name_zh="女性专项", sort_order="1")
    with pytest.raises(FieldErrors) as e:
        _as(world, world.admin_a, save_category, name_zh="", sort_order="x")
    assert set(e.value.errors) == {"name_zh", "sort_order"}
    _as(world, world.admin_a, save_category, category_id=cid, name_zh="入职体检", active=False)
    rows = _as(world, world.admin_a, list_categories)
    assert [(r.name_zh, r.active) for r in rows] == [("入职体检", False), ("女性专项", True)]
    choices = _as(world, world.admin_a, editor_choices)
    assert len(choices.categories) == 2


# --- permissions and tenants ------------------------------------------------------------


def test_staff_without_catalog_permission_and_patients_are_refused(world: World) -> None:
    pkg = make_package(world.a)
    calls: list[tuple[Callable[..., Any], dict[str, Any]]] = [
        (list_packages, {}),
        (list_items, {}),
        (list_categories, {}),
        (editor_choices, {}),
        (package_for_edit, {"package_id": pkg.id}),
        (
            save_package,
            {"data": PackageInput(code="X", name_zh="x", list_price="1", sale_price="1")},
        ),
        (save_item, {"code": "X", "name_zh": "x"}),
        (save_category, {"name_zh": "x"}),
        (set_published, {"package_id": pkg.id, "published": False}),
    ]
    for fn, kw in calls:
        for who in (world.staff_a, world.patient_a):
            with pytest.raises(PermissionDenied):
                _as(world, who, fn, **kw)
        # an admin of another tenant is not even recognised here
        with pytest.raises(NotFound):
            _as(world, world.admin_b, fn, **kw)
    with tenant_session(world.a.id) as s:
        p = s.get(HealthPackage, pkg.id)
        assert p is not None
        assert p.published


def test_admin_of_b_cannot_touch_as_package_by_id(world: World) -> None:
    a_pkg = make_package(world.a)
    a_item = make_item(world.a)
    a_cat = make_category(world.a)
    b = world.b
    for fn, kw in (
        (package_for_edit, {"package_id": a_pkg.id}),
        (set_published, {"package_id": a_pkg.id, "published": False}),
        (
            save_package,
            {
                "package_id": a_pkg.id,
                "data": PackageInput(code="Z", name_zh="z", list_price="1", sale_price="1"),
            },
        ),
        (save_item, {"item_id": a_item, "code": "Z", "name_zh": "z"}),
        (save_category, {"category_id": a_cat, "name_zh": "z"}),
    ):
        with pytest.raises(NotFound):
            _as(world, world.admin_b, fn, tenant=b, **kw)
    # the same NotFound as an id that does not exist at all
    with pytest.raises(NotFound):
        _as(world, world.admin_b, package_for_edit, tenant=b, package_id=999999)
    with tenant_session(world.a.id) as s:
        p = s.get(HealthPackage, a_pkg.id)
        assert p is not None
        assert p.published
        assert p.name_zh == "基础套餐"
    assert _as(world, world.admin_b, list_packages, tenant=b) == []


def test_a_suspended_tenant_cannot_change_its_catalog(world: World) -> None:
    pkg = make_package(world.a)
    change_status(world.a, TenantStatus.SUSPENDED)
    with pytest.raises(TenantReadOnly):
        _as(world, world.admin_a, set_published, package_id=pkg.id, published=False)
    assert len(_as(world, world.admin_a, list_packages)) == 1


def test_the_last_active_item_of_a_published_package_cannot_be_switched_off(world: World) -> None:
    only = make_item(world.a, name="唯一项目", code="ONLY")
    shared = make_item(world.a, name="共用项目", code="SHARED")
    other = make_item(world.a, name="其他项目", code="OTHER")
    make_package(world.a, name="单项套餐", item_ids=[only])
    make_package(world.a, name="多项套餐", item_ids=[shared, other])
    make_package(world.a, name="未上架", item_ids=[other], published=False)
    with pytest.raises(DomainError) as e:
        _as(
            world,
            world.admin_a,
            save_item,
            item_id=only,
            code="ONLY",
            name_zh="唯一项目",
            active=False,
        )
    assert "单项套餐" in translate(e.value.key, "zh-CN", **e.value.params)
    _as(
        world,
        world.admin_a,
        save_item,
        item_id=shared,
        code="SHARED",
        name_zh="共用项目",
        active=False,
    )
    # now OTHER is the last active one of 多项套餐
    with pytest.raises(DomainError):
        _as(
            world,
            world.admin_a,
            save_item,
            item_id=other,
            code="OTHER",
            name_zh="其他项目",
            active=False,
        )
    (row,) = [r for r in _as(world, world.admin_a, list_items) if r.code == "ONLY"]
    assert row.active
