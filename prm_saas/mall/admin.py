"""Catalog management for tenant admins (``Permission.CATALOG_MANAGE``):
categories, exam items, packages with their items, add-ons and locations,
publishing.

Every use case validates all of its input before it writes anything, so an
error leaves the catalog as it was; the page's one transaction commits or
rolls back the whole change. Form values arrive as text (handlers are a
public API): numbers and prices are parsed here, prices from yuan text to fen
exactly (``prm_saas.mall.money``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.audit.services import record
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
from prm_saas.mall.money import check_yuan, fen_to_yuan_text
from prm_saas.mall.pricing import NO_MAX_AGE
from prm_saas.validation import Checker, strip_controls
from tenants.db import TenantSession
from tenants.errors import DomainError, FieldErrors
from tenants.lookup import get_or_404
from tenants.types import utcnow

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,29}$")
RESOURCE_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")
MAX_LIST = 200  # items, add-ons or locations in one package


def _admin(session: TenantSession, actor: Principal | None) -> Principal:
    return require_staff(session, actor, Permission.CATALOG_MANAGE)


# --- parsing form values --------------------------------------------------------------


def _int(
    c: Checker, name: str, value: object, *, lo: int, hi: int, key: str = "mall.number_invalid"
) -> int:
    """An integer form value in [lo, hi], else an error on ``name`` (and ``lo``)."""
    if isinstance(value, bool):
        c.fail(name, key, min=lo, max=hi)
        return lo
    if isinstance(value, int):
        n = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        if not re.fullmatch(r"-?[0-9]{1,6}", text):
            c.fail(name, key, min=lo, max=hi)
            return lo
        n = int(text)
    if not lo <= n <= hi:
        c.fail(name, key, min=lo, max=hi)
        return lo
    return n


def _bool(value: object) -> bool:
    """A checkbox: True, "on", "true", "1" are ticked."""
    if isinstance(value, str):
        return value.strip().lower() in ("on", "true", "1", "yes")
    return value is True


def _code(c: Checker, name: str, value: object) -> str:
    v = value.strip().upper() if isinstance(value, str) else ""
    if not v:
        c.fail(name, "field.required")
    elif not CODE_RE.match(v):
        c.fail(name, "mall.code_invalid")
    return v


def _ids(c: Checker, name: str, values: object) -> list[int]:
    """Distinct positive ids in the order given; anything else fails ``name``."""
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        c.fail(name, "mall.choice_unknown")
        return []
    out: list[int] = []
    for v in values:
        if isinstance(v, bool):
            c.fail(name, "mall.choice_unknown")
            return []
        try:
            i = int(v)
        except (TypeError, ValueError):
            c.fail(name, "mall.choice_unknown")
            return []
        if i not in out:
            out.append(i)
    if len(out) > MAX_LIST:
        c.fail(name, "mall.too_many", max=MAX_LIST)
        return []
    return out


def _image_url(c: Checker, name: str, value: object) -> str:
    """An https URL or a path on this site (/assets/...), or nothing."""
    v = strip_controls(value if isinstance(value, str) else "").strip()
    if not v:
        return ""
    if v.startswith("/") and not v.startswith("//") and "\\" not in v and " " not in v:
        if len(v) > 500:
            c.fail(name, "field.too_long", max=500)
        return v
    return c.url(name, v)


# --- categories -------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryRow:
    """A category as the admin sees it."""

    id: int
    name_zh: str
    name_en: str
    sort_order: int
    active: bool
    package_count: int


def list_categories(*, session: TenantSession, actor: Principal) -> list[CategoryRow]:
    """All categories (active or not), in shelf order."""
    _admin(session, actor)
    counts = dict(
        session.exec(
            select(HealthPackage.category_id, func.count(col(HealthPackage.id))).group_by(
                col(HealthPackage.category_id)
            )
        ).all()
    )
    return [
        CategoryRow(
            id=cat.id,
            name_zh=cat.name_zh,
            name_en=cat.name_en,
            sort_order=cat.sort_order,
            active=cat.active,
            package_count=counts.get(cat.id, 0),
        )
        for cat in session.exec(
            select(PackageCategory).order_by(
                col(PackageCategory.sort_order), col(PackageCategory.id)
            )
        )
        if cat.id is not None
    ]


def save_category(
    *,
    session: TenantSession,
    actor: Principal,
    category_id: object = None,
    name_zh: object,
    name_en: object = "",
    sort_order: object = "0",
    active: object = True,
    ip: str = "",
) -> int:
    """Create a category (``category_id`` None) or change one; its id."""
    actor = _admin(session, actor)
    cat = (
        get_or_404(session, PackageCategory, category_id)
        if category_id not in (None, "")
        else PackageCategory(name_zh="")
    )
    c = Checker()
    zh = c.text("name_zh", name_zh if isinstance(name_zh, str) else "", max_len=60)
    en = c.text("name_en", name_en if isinstance(name_en, str) else "", max_len=60, required=False)
    order = _int(c, "sort_order", sort_order, lo=-9999, hi=9999)
    c.raise_if_any()
    created = cat.id is None
    cat.name_zh, cat.name_en, cat.sort_order, cat.active = zh, en, order, _bool(active)
    session.add(cat)
    session.flush()
    assert cat.id is not None
    record(
        session,
        actor=actor,
        action="mall.category_created" if created else "mall.category_updated",
        target_type="package_category",
        target_id=cat.id,
        ip=ip,
        details={"name": zh, "active": cat.active},
    )
    return cat.id


# --- exam items -------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    """An exam item as the admin sees and edits it (price as yuan text too)."""

    id: int
    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    price_fen: int
    price_yuan: str
    resource_key: str
    active: bool


def _item_row(i: ExamItem) -> ItemRow:
    assert i.id is not None
    return ItemRow(
        id=i.id,
        code=i.code,
        name_zh=i.name_zh,
        name_en=i.name_en,
        description_zh=i.description_zh,
        description_en=i.description_en,
        price_fen=i.price_fen,
        price_yuan=fen_to_yuan_text(i.price_fen),
        resource_key=i.resource_key,
        active=i.active,
    )


def list_items(*, session: TenantSession, actor: Principal) -> list[ItemRow]:
    """All exam items (active or not), by code."""
    _admin(session, actor)
    return [
        _item_row(i)
        for i in session.exec(select(ExamItem).order_by(col(ExamItem.code), col(ExamItem.id)))
    ]


def save_item(
    *,
    session: TenantSession,
    actor: Principal,
    item_id: object = None,
    code: object,
    name_zh: object,
    name_en: object = "",
    description_zh: object = "",
    description_en: object = "",
    price_yuan: object = "0",
    resource_key: object = "",
    active: object = True,
    ip: str = "",
) -> int:
    """Create an exam item (``item_id`` None) or change one; its id.

    The code is unique in the tenant (upper-cased); the resource key, if any, is
    a short lower-case slug naming a scarce resource ("ct", "gastroscopy") that
    booking counts per day at each location.
    """
    actor = _admin(session, actor)
    item = (
        get_or_404(session, ExamItem, item_id)
        if item_id not in (None, "")
        else ExamItem(code="", name_zh="")
    )
    c = Checker()
    clean_code = _code(c, "code", code)

    def txt(name: str, value: object, max_len: int, required: bool = False) -> str:
        return c.text(
            name, value if isinstance(value, str) else "", max_len=max_len, required=required
        )

    zh = txt("name_zh", name_zh, 80, True)
    en = txt("name_en", name_en, 80)
    dzh = txt("description_zh", description_zh, 1000)
    den = txt("description_en", description_en, 1000)
    price = check_yuan(c, "price", price_yuan)
    key = resource_key.strip().lower() if isinstance(resource_key, str) else ""
    if key and not RESOURCE_KEY_RE.match(key):
        c.fail("resource_key", "mall.resource_key_invalid")
    if clean_code and "code" not in c.errors:
        clash = session.exec(
            select(ExamItem.id).where(ExamItem.code == clean_code, col(ExamItem.id) != item.id)
        ).first()
        if clash is not None:
            c.fail("code", "mall.code_taken")
    c.raise_if_any()
    if item.id is not None and item.active and not _bool(active):
        stranded = _packages_left_without_items(session, item.id)
        if stranded:
            raise DomainError("mall.item_last_in_published", packages="、".join(stranded))
    created = item.id is None
    before = {"price_fen": item.price_fen, "resource_key": item.resource_key, "active": item.active}
    item.code, item.name_zh, item.name_en = clean_code, zh, en
    item.description_zh, item.description_en = dzh, den
    item.price_fen, item.resource_key, item.active = price, key, _bool(active)
    try:
        with session.begin_nested():
            session.add(item)
            session.flush()
    except IntegrityError:  # the same code saved at the same moment
        raise FieldErrors.single("code", "mall.code_taken") from None
    assert item.id is not None
    after = {"price_fen": item.price_fen, "resource_key": item.resource_key, "active": item.active}
    record(
        session,
        actor=actor,
        action="mall.item_created" if created else "mall.item_updated",
        target_type="exam_item",
        target_id=item.id,
        ip=ip,
        details={"code": clean_code, **after}
        if created
        else {
            "code": clean_code,
            "changed": {k: [before[k], after[k]] for k in after if before[k] != after[k]},
        },
    )
    return item.id


def _packages_left_without_items(session: TenantSession, item_id: int) -> list[str]:
    """Names of published packages whose only active item is ``item_id``: switching
    the item off would leave them on the shelf with nothing in them."""
    names = []
    published_with_item = session.exec(
        select(HealthPackage)
        .join(PackageItem, col(PackageItem.package_id) == col(HealthPackage.id))
        .where(PackageItem.item_id == item_id, col(HealthPackage.published).is_(True))
        .order_by(col(HealthPackage.id))
    )
    for p in published_with_item:
        other = session.exec(
            select(PackageItem.id)
            .join(ExamItem, col(ExamItem.id) == col(PackageItem.item_id))
            .where(
                PackageItem.package_id == p.id,
                PackageItem.item_id != item_id,
                col(ExamItem.active).is_(True),
            )
        ).first()
        if other is None:
            names.append(p.name_zh)
    return names


# --- packages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageRow:
    """A line of the admin's package table."""

    id: int
    code: str
    name_zh: str
    name_en: str
    category_zh: str
    list_price_fen: int
    sale_price_fen: int
    item_count: int
    addon_count: int
    location_count: int
    published: bool
    sort_order: int


def list_packages(*, session: TenantSession, actor: Principal) -> list[PackageRow]:
    """Every package (published or not), in shelf order."""
    _admin(session, actor)

    def counts(model: Any) -> dict[int, int]:
        return dict(
            session.exec(
                select(model.package_id, func.count(col(model.id))).group_by(col(model.package_id))
            ).all()
        )

    items, addons, locs = counts(PackageItem), counts(PackageAddOn), counts(PackageLocation)
    cats = {c.id: c.name_zh for c in session.exec(select(PackageCategory))}
    out = []
    for p in session.exec(
        select(HealthPackage).order_by(col(HealthPackage.sort_order), col(HealthPackage.id))
    ):
        assert p.id is not None
        out.append(
            PackageRow(
                id=p.id,
                code=p.code,
                name_zh=p.name_zh,
                name_en=p.name_en,
                category_zh=cats.get(p.category_id, "") if p.category_id else "",
                list_price_fen=p.list_price_fen,
                sale_price_fen=p.sale_price_fen,
                item_count=items.get(p.id, 0),
                addon_count=addons.get(p.id, 0),
                location_count=locs.get(p.id, 0),
                published=p.published,
                sort_order=p.sort_order,
            )
        )
    return out


@dataclass
class PackageInput:
    """The package editor's form, as typed: text for numbers and prices (yuan),
    ids of the included items, add-on prices by item id, ids of locations."""

    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    summary_zh: str = ""
    summary_en: str = ""
    description_zh: str = ""
    description_en: str = ""
    instructions_zh: str = ""
    instructions_en: str = ""
    fasting_required: bool = False
    target_sex: str = TargetSex.ANY.value
    min_age: str = "0"
    max_age: str = str(NO_MAX_AGE)
    list_price: str = ""
    sale_price: str = ""
    image_url: str = ""
    category_id: str = ""
    sort_order: str = "0"
    item_ids: list[int] = field(default_factory=list)
    addons: dict[int, str] = field(default_factory=dict)  # item id -> price in yuan
    location_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PackageEditView:
    """A package as the editor loads it, and what it can choose from."""

    id: int | None
    published: bool
    data: PackageInput


def package_for_edit(
    *, session: TenantSession, actor: Principal, package_id: object
) -> PackageEditView:
    """A package of this tenant loaded into the editor (published or not)."""
    _admin(session, actor)
    p = get_or_404(session, HealthPackage, package_id)
    assert p.id is not None
    item_ids = list(
        session.exec(
            select(PackageItem.item_id)
            .where(PackageItem.package_id == p.id)
            .order_by(col(PackageItem.id))
        )
    )
    addons = {
        a.item_id: fen_to_yuan_text(a.price_fen)
        for a in session.exec(
            select(PackageAddOn)
            .where(PackageAddOn.package_id == p.id)
            .order_by(col(PackageAddOn.id))
        )
    }
    loc_ids = list(
        session.exec(
            select(PackageLocation.location_id)
            .where(PackageLocation.package_id == p.id)
            .order_by(col(PackageLocation.id))
        )
    )
    return PackageEditView(
        id=p.id,
        published=p.published,
        data=PackageInput(
            code=p.code,
            name_zh=p.name_zh,
            name_en=p.name_en,
            summary_zh=p.summary_zh,
            summary_en=p.summary_en,
            description_zh=p.description_zh,
            description_en=p.description_en,
            instructions_zh=p.instructions_zh,
            instructions_en=p.instructions_en,
            fasting_required=p.fasting_required,
            target_sex=str(p.target_sex),
            min_age=str(p.min_age),
            max_age=str(p.max_age),
            list_price=fen_to_yuan_text(p.list_price_fen),
            sale_price=fen_to_yuan_text(p.sale_price_fen),
            image_url=p.image_url,
            category_id=str(p.category_id or ""),
            sort_order=str(p.sort_order),
            item_ids=item_ids,
            addons=addons,
            location_ids=loc_ids,
        ),
    )


@dataclass(frozen=True)
class ChoiceRow:
    """Something the editor can pick (a category, an item, a location)."""

    id: int
    label_zh: str
    label_en: str
    active: bool
    extra: str = ""  # item: list price in yuan; location: address


@dataclass(frozen=True)
class EditorChoices:
    """What a package can be made of in this tenant."""

    categories: list[ChoiceRow]
    items: list[ChoiceRow]
    locations: list[ChoiceRow]


def editor_choices(*, session: TenantSession, actor: Principal) -> EditorChoices:
    """Categories, items and locations of this tenant for the package editor."""
    _admin(session, actor)
    cats = [
        ChoiceRow(id=c.id, label_zh=c.name_zh, label_en=c.name_en, active=c.active)
        for c in session.exec(
            select(PackageCategory).order_by(
                col(PackageCategory.sort_order), col(PackageCategory.id)
            )
        )
        if c.id is not None
    ]
    items = [
        ChoiceRow(
            id=i.id,
            label_zh=f"{i.code} {i.name_zh}",
            label_en=f"{i.code} {i.name_en or i.name_zh}",
            active=i.active,
            extra=fen_to_yuan_text(i.price_fen),
        )
        for i in session.exec(select(ExamItem).order_by(col(ExamItem.code), col(ExamItem.id)))
        if i.id is not None
    ]
    locs = [
        ChoiceRow(
            id=loc.id,
            label_zh=loc.name_zh,
            label_en=loc.name_en or loc.name_zh,
            active=loc.active,
            extra=loc.address,
        )
        for loc in session.exec(select(Location).order_by(col(Location.id)))
        if loc.id is not None
    ]
    return EditorChoices(categories=cats, items=items, locations=locs)


def _existing(session: TenantSession, model: Any, ids: list[int]) -> dict[int, Any]:
    """Rows of ``model`` with these ids in this tenant (others simply do not come back)."""
    if not ids:
        return {}
    return {r.id: r for r in session.exec(select(model).where(col(model.id).in_(ids)))}


def _validate_package(
    session: TenantSession, data: PackageInput, package_id: int | None
) -> tuple[dict[str, Any], list[int], dict[int, int], list[int]]:
    """All checks of the editor; the clean columns, item ids, add-on prices
    (fen by item id) and location ids. Raises FieldErrors listing every problem."""
    c = Checker()

    def txt(name: str, max_len: int, required: bool = False) -> str:
        v = getattr(data, name, "")
        return c.text(name, v if isinstance(v, str) else "", max_len=max_len, required=required)

    cols: dict[str, Any] = {
        "code": _code(c, "code", data.code),
        "name_zh": txt("name_zh", 80, True),
        "name_en": txt("name_en", 80),
        "summary_zh": txt("summary_zh", 200),
        "summary_en": txt("summary_en", 200),
        "description_zh": txt("description_zh", 4000),
        "description_en": txt("description_en", 4000),
        "instructions_zh": txt("instructions_zh", 2000),
        "instructions_en": txt("instructions_en", 2000),
        "fasting_required": _bool(data.fasting_required),
        "image_url": _image_url(c, "image_url", data.image_url),
    }
    sex = c.choice("target_sex", data.target_sex, [s.value for s in TargetSex])
    cols["target_sex"] = TargetSex(sex) if sex in TargetSex._value2member_map_ else TargetSex.ANY
    cols["min_age"] = _int(c, "min_age", data.min_age, lo=0, hi=NO_MAX_AGE, key="mall.age_invalid")
    cols["max_age"] = _int(c, "max_age", data.max_age, lo=0, hi=NO_MAX_AGE, key="mall.age_invalid")
    if (
        "min_age" not in c.errors
        and "max_age" not in c.errors
        and cols["min_age"] > cols["max_age"]
    ):
        c.fail("max_age", "mall.age_range")
    cols["list_price_fen"] = check_yuan(c, "list_price", data.list_price)
    cols["sale_price_fen"] = check_yuan(c, "sale_price", data.sale_price)
    if (
        "list_price" not in c.errors
        and "sale_price" not in c.errors
        and cols["sale_price_fen"] > cols["list_price_fen"]
    ):
        c.fail("sale_price", "mall.sale_above_list")
    cols["sort_order"] = _int(c, "sort_order", data.sort_order, lo=-9999, hi=9999)
    cat_text = data.category_id.strip() if isinstance(data.category_id, str) else ""
    cols["category_id"] = None
    if cat_text:
        cat_id = _int(c, "category_id", cat_text, lo=1, hi=2**31 - 1, key="mall.choice_unknown")
        if "category_id" not in c.errors:
            if cat_id in _existing(session, PackageCategory, [cat_id]):
                cols["category_id"] = cat_id
            else:
                c.fail("category_id", "mall.choice_unknown")
    if cols["code"] and "code" not in c.errors:
        clash = session.exec(
            select(HealthPackage.id).where(
                HealthPackage.code == cols["code"], col(HealthPackage.id) != package_id
            )
        ).first()
        if clash is not None:
            c.fail("code", "mall.code_taken")

    item_ids = _ids(c, "item_ids", data.item_ids)
    if set(item_ids) - set(_existing(session, ExamItem, item_ids)):
        c.fail("item_ids", "mall.choice_unknown")
    addon_prices: dict[int, int] = {}
    raw_addons: Mapping[Any, Any] = data.addons if isinstance(data.addons, Mapping) else {}
    if not isinstance(data.addons, Mapping):
        c.fail("addons", "mall.choice_unknown")
    addon_ids = _ids(c, "addons", list(raw_addons))
    known_addons = _existing(session, ExamItem, addon_ids)
    for key, price in raw_addons.items():
        try:
            iid = int(key)
        except (TypeError, ValueError):
            continue  # already failed in _ids
        if iid not in known_addons:
            c.fail("addons", "mall.choice_unknown")
            continue
        addon_prices[iid] = check_yuan(c, f"addon_{iid}", price)
        if iid in item_ids:
            c.fail("addons", "mall.addon_in_package", name=known_addons[iid].name_zh)
    location_ids = _ids(c, "location_ids", data.location_ids)
    if set(location_ids) - set(_existing(session, Location, location_ids)):
        c.fail("location_ids", "mall.choice_unknown")
    c.raise_if_any()
    return cols, item_ids, addon_prices, location_ids


def _replace_children(
    session: TenantSession,
    package_id: int,
    item_ids: list[int],
    addons: dict[int, int],
    location_ids: list[int],
) -> None:
    for model in (PackageItem, PackageAddOn, PackageLocation):
        for row in session.exec(select(model).where(col(model.package_id) == package_id)):
            session.delete(row)
    session.flush()
    for i in item_ids:
        session.add(PackageItem(package_id=package_id, item_id=i))
    for i, price in addons.items():
        session.add(PackageAddOn(package_id=package_id, item_id=i, price_fen=price))
    for loc in location_ids:
        session.add(PackageLocation(package_id=package_id, location_id=loc))
    session.flush()


def _publish_problem(session: TenantSession, package_id: int) -> str | None:
    """Why this package cannot be (or stay) published, or None."""
    has_item = session.exec(
        select(PackageItem.id)
        .join(ExamItem, col(ExamItem.id) == col(PackageItem.item_id))
        .where(PackageItem.package_id == package_id, col(ExamItem.active).is_(True))
    ).first()
    if has_item is None:
        return "mall.publish_needs_items"
    has_location = session.exec(
        select(PackageLocation.id)
        .join(Location, col(Location.id) == col(PackageLocation.location_id))
        .where(PackageLocation.package_id == package_id, col(Location.active).is_(True))
    ).first()
    if has_location is None:
        return "mall.publish_needs_locations"
    return None


_AUDITED = (
    "code",
    "name_zh",
    "list_price_fen",
    "sale_price_fen",
    "target_sex",
    "min_age",
    "max_age",
)


def save_package(
    *,
    session: TenantSession,
    actor: Principal,
    package_id: object = None,
    data: PackageInput,
    ip: str = "",
) -> int:
    """Create a package (``package_id`` None, unpublished) or change one, with its
    items, add-ons and locations, in one go; its id.

    Refused with every problem at once (FieldErrors): a missing name or code, a
    code taken, prices that are not yuan with at most two decimals, a sale price
    above the list price, ages outside 0-120 or min above max, items, add-ons,
    categories or locations that are not this tenant's, an add-on that is also
    included. A published package must keep at least one active item and one
    active location (``mall.publish_needs_items`` / ``..._locations``).
    """
    actor = _admin(session, actor)
    if not isinstance(data, PackageInput):
        raise DomainError("error.invalid_input")
    existing = (
        get_or_404(session, HealthPackage, package_id) if package_id not in (None, "") else None
    )
    cols, item_ids, addons, location_ids = _validate_package(
        session, data, existing.id if existing else None
    )
    if existing is not None and existing.published:
        # Checked before anything is written: a published package stays bookable.
        items = _existing(session, ExamItem, item_ids).values()
        locs = _existing(session, Location, location_ids).values()
        if not any(i.active for i in items):
            raise DomainError("mall.publish_needs_items")
        if not any(loc.active for loc in locs):
            raise DomainError("mall.publish_needs_locations")
    now = utcnow()
    if existing is None:
        package = HealthPackage(**cols, published=False, created_at=now, updated_at=now)
        before: dict[str, Any] = {}
    else:
        package = existing
        before = {k: getattr(package, k) for k in _AUDITED}
        for k, v in cols.items():
            setattr(package, k, v)
        package.updated_at = now
    try:
        with session.begin_nested():
            session.add(package)
            session.flush()
            assert package.id is not None
            _replace_children(session, package.id, item_ids, addons, location_ids)
    except IntegrityError:  # the same code saved at the same moment
        raise FieldErrors.single("code", "mall.code_taken") from None
    assert package.id is not None
    after = {k: getattr(package, k) for k in _AUDITED}
    details: dict[str, Any] = {
        "items": item_ids,
        "addons": addons,
        "locations": location_ids,
    }
    if existing is None:
        details.update(after)
    else:
        details["changed"] = {k: [before[k], after[k]] for k in _AUDITED if before[k] != after[k]}
    record(
        session,
        actor=actor,
        action="mall.package_created" if existing is None else "mall.package_updated",
        target_type="health_package",
        target_id=package.id,
        ip=ip,
        details=details,
    )
    return package.id


def set_published(
    *,
    session: TenantSession,
    actor: Principal,
    package_id: object,
    published: object,
    ip: str = "",
) -> None:
    """Put a package on the shelf or take it off. Publishing needs at least one
    active item and one active location; unpublishing always works (bookings
    already made stay). Setting the state it already has changes nothing."""
    actor = _admin(session, actor)
    package = get_or_404(session, HealthPackage, package_id)
    want = _bool(published)
    if package.published == want:
        return
    assert package.id is not None
    if want:
        problem = _publish_problem(session, package.id)
        if problem:
            raise DomainError(problem)
    package.published = want
    package.updated_at = utcnow()
    session.add(package)
    session.flush()
    record(
        session,
        actor=actor,
        action="mall.package_published" if want else "mall.package_unpublished",
        target_type="health_package",
        target_id=package.id,
        ip=ip,
        details={"code": package.code},
    )
