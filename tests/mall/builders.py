"""Catalog rows for mall tests, written directly through the one session factory."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from prm_saas.booking.models import Location
from prm_saas.mall.models import (
    ExamItem,
    HealthPackage,
    PackageAddOn,
    PackageCategory,
    PackageItem,
    PackageLocation,
    TargetSex,
)
from tenants.db import tenant_session
from tenants.resolution import TenantInfo

_seq = itertools.count(1)


def make_location(tenant: TenantInfo, *, name: str = "总院", active: bool = True) -> int:
    """A location of ``tenant``; its id."""
    with tenant_session(tenant.id) as s:
        loc = Location(name_zh=name, name_en="Main", address="人民路1号", active=active)
        s.add(loc)
        s.flush()
        assert loc.id is not None
        return loc.id


def make_category(tenant: TenantInfo, *, name: str = "入职体检", sort_order: int = 0) -> int:
    """A category of ``tenant``; its id."""
    with tenant_session(tenant.id) as s:
        c = PackageCategory(name_zh=name, name_en=f"cat {name}", sort_order=sort_order)
        s.add(c)
        s.flush()
        assert c.id is not None
        return c.id


def make_item(
    tenant: TenantInfo,
    *,
    name: str = "血常规",
    name_en: str = "Blood count",
    price_fen: int = 5000,
    resource_key: str = "",
    active: bool = True,
    code: str | None = None,
) -> int:
    """An exam item of ``tenant``; its id."""
    with tenant_session(tenant.id) as s:
        it = ExamItem(
            code=code or f"I{next(_seq)}",
            name_zh=name,
            name_en=name_en,
            price_fen=price_fen,
            resource_key=resource_key,
            active=active,
        )
        s.add(it)
        s.flush()
        assert it.id is not None
        return it.id


@dataclass
class Pkg:
    """What make_package built."""

    id: int
    item_ids: list[int] = field(default_factory=list)
    addon_ids: list[int] = field(default_factory=list)


def make_package(
    tenant: TenantInfo,
    *,
    name: str = "基础套餐",
    name_en: str = "Basic",
    summary: str = "",
    item_ids: list[int] | None = None,
    addons: dict[int, int] | None = None,
    location_ids: list[int] | None = None,
    category_id: int | None = None,
    target_sex: TargetSex = TargetSex.ANY,
    min_age: int = 0,
    max_age: int = 120,
    list_price_fen: int = 60000,
    sale_price_fen: int = 49900,
    published: bool = True,
    sort_order: int = 0,
) -> Pkg:
    """A package of ``tenant`` with items, add-ons ({item id: price}) and locations."""
    with tenant_session(tenant.id) as s:
        p = HealthPackage(
            code=f"P{next(_seq)}",
            name_zh=name,
            name_en=name_en,
            summary_zh=summary,
            category_id=category_id,
            target_sex=target_sex,
            min_age=min_age,
            max_age=max_age,
            list_price_fen=list_price_fen,
            sale_price_fen=sale_price_fen,
            published=published,
            sort_order=sort_order,
            instructions_zh="空腹8小时",
            instructions_en="Fast for 8 hours",
            fasting_required=True,
        )
        s.add(p)
        s.flush()
        assert p.id is not None
        for i in item_ids or []:
            s.add(PackageItem(package_id=p.id, item_id=i))
        for i, price in (addons or {}).items():
            s.add(PackageAddOn(package_id=p.id, item_id=i, price_fen=price))
        for loc in location_ids or []:
            s.add(PackageLocation(package_id=p.id, location_id=loc))
        s.flush()
        return Pkg(id=p.id, item_ids=list(item_ids or []), addon_ids=list(addons or {}))
