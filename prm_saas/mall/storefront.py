"""The patient's side of the mall: search and filter the published packages, and
one package's detail. The mall is public within a tenant (no actor): only
published packages, active items, active categories and active locations show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, func, or_, select

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
from prm_saas.mall.pricing import get_published, package_items
from tenants.db import TenantSession

# A search longer than this is cut (nobody types a paragraph into the mall).
MAX_QUERY = 60
MAX_TERMS = 5


@dataclass(frozen=True)
class CategoryView:
    """A shelf of the mall."""

    id: int
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class PackageCard:
    """A package as a card in the mall list."""

    id: int
    code: str
    name_zh: str
    name_en: str
    summary_zh: str
    summary_en: str
    category_id: int | None
    category_zh: str
    category_en: str
    list_price_fen: int
    sale_price_fen: int
    discount_fen: int  # list - sale, never negative
    discount_percent: int  # whole percent off the list price, rounded down
    item_count: int
    image_url: str
    target_sex: str
    min_age: int
    max_age: int
    fasting_required: bool


@dataclass(frozen=True)
class ItemView:
    """An exam item inside a package."""

    id: int
    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str


@dataclass(frozen=True)
class AddOnView:
    """An item the patient may add to the package, at this price."""

    item_id: int
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    price_fen: int


@dataclass(frozen=True)
class LocationView:
    """A location where the package can be booked."""

    id: int
    name_zh: str
    name_en: str
    address: str
    phone: str


@dataclass(frozen=True)
class PackageDetail:
    """Everything the package page shows."""

    card: PackageCard
    description_zh: str
    description_en: str
    instructions_zh: str
    instructions_en: str
    items: list[ItemView]
    addons: list[AddOnView]
    locations: list[LocationView]

    @property
    def id(self) -> int:
        """The package id."""
        return self.card.id


def _like(term: str) -> str:
    """A LIKE pattern matching ``term`` literally anywhere (``\\`` escapes)."""
    esc = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{esc}%"


def _terms(query: object) -> list[str]:
    if not isinstance(query, str):
        return []
    return [t for t in query[:MAX_QUERY].split() if t][:MAX_TERMS]


def _int_or_none(value: object) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _discount(list_fen: int, sale_fen: int) -> tuple[int, int]:
    off = max(0, list_fen - sale_fen)
    percent = off * 100 // list_fen if list_fen > 0 else 0
    return off, percent


def _cards(session: TenantSession, packages: list[HealthPackage]) -> list[PackageCard]:
    ids = [p.id for p in packages if p.id is not None]
    counts: dict[int, int] = {}
    if ids:
        rows = session.exec(
            select(PackageItem.package_id, func.count(col(PackageItem.id)))
            .join(ExamItem, col(ExamItem.id) == col(PackageItem.item_id))
            .where(col(PackageItem.package_id).in_(ids), col(ExamItem.active).is_(True))
            .group_by(col(PackageItem.package_id))
        )
        counts = {pid: n for pid, n in rows}
    cats = {
        c.id: c
        for c in session.exec(select(PackageCategory).where(col(PackageCategory.active).is_(True)))
    }
    out = []
    for p in packages:
        assert p.id is not None
        cat = cats.get(p.category_id) if p.category_id is not None else None
        off, percent = _discount(p.list_price_fen, p.sale_price_fen)
        out.append(
            PackageCard(
                id=p.id,
                code=p.code,
                name_zh=p.name_zh,
                name_en=p.name_en,
                summary_zh=p.summary_zh,
                summary_en=p.summary_en,
                category_id=cat.id if cat else None,
                category_zh=cat.name_zh if cat else "",
                category_en=cat.name_en if cat else "",
                list_price_fen=p.list_price_fen,
                sale_price_fen=p.sale_price_fen,
                discount_fen=off,
                discount_percent=percent,
                item_count=counts.get(p.id, 0),
                image_url=p.image_url,
                target_sex=str(p.target_sex),
                min_age=p.min_age,
                max_age=p.max_age,
                fasting_required=p.fasting_required,
            )
        )
    return out


def published_packages(
    *,
    session: TenantSession,
    query: str = "",
    category_id: int | None = None,
    location_id: int | None = None,
    sex: str | None = None,
    age: int | None = None,
    max_price_fen: int | None = None,
) -> list[PackageCard]:
    """The published packages matching every given filter, by sort order then id.

    - ``query``: each whitespace-separated word must appear (case-insensitively)
      in the package's name or summary (Chinese or English) or in the name of
      one of its active items (Chinese or English).
    - ``category_id``: packages on that (active) shelf.
    - ``location_id``: packages offered at that (active) location.
    - ``sex``: ``"male"``/``"female"`` keeps packages for anyone or for that sex.
    - ``age``: packages whose age range includes it.
    - ``max_price_fen``: sale price at most this.

    Filters come from browsers: a value that is not what it should be (a word
    for an age, an unknown sex) is ignored rather than an error.
    """
    stmt = select(HealthPackage).where(col(HealthPackage.published).is_(True))
    for term in _terms(query):
        pattern = _like(term)
        in_items = (
            select(PackageItem.package_id)
            .join(ExamItem, col(ExamItem.id) == col(PackageItem.item_id))
            .where(
                col(ExamItem.active).is_(True),
                or_(
                    col(ExamItem.name_zh).ilike(pattern, escape="\\"),
                    col(ExamItem.name_en).ilike(pattern, escape="\\"),
                ),
            )
        )
        stmt = stmt.where(
            or_(
                col(HealthPackage.name_zh).ilike(pattern, escape="\\"),
                col(HealthPackage.name_en).ilike(pattern, escape="\\"),
                col(HealthPackage.summary_zh).ilike(pattern, escape="\\"),
                col(HealthPackage.summary_en).ilike(pattern, escape="\\"),
                col(HealthPackage.id).in_(in_items),
            )
        )
    cat = _int_or_none(category_id)
    if cat is not None:
        active_cat = select(PackageCategory.id).where(
            PackageCategory.id == cat, col(PackageCategory.active).is_(True)
        )
        stmt = stmt.where(col(HealthPackage.category_id).in_(active_cat))
    loc = _int_or_none(location_id)
    if loc is not None:
        at_loc = (
            select(PackageLocation.package_id)
            .join(Location, col(Location.id) == col(PackageLocation.location_id))
            .where(PackageLocation.location_id == loc, col(Location.active).is_(True))
        )
        stmt = stmt.where(col(HealthPackage.id).in_(at_loc))
    if sex in (TargetSex.MALE.value, TargetSex.FEMALE.value):
        stmt = stmt.where(col(HealthPackage.target_sex).in_([TargetSex.ANY.value, sex]))
    years = _int_or_none(age)
    if years is not None and 0 <= years <= 150:
        stmt = stmt.where(HealthPackage.min_age <= years, HealthPackage.max_age >= years)
    cap = _int_or_none(max_price_fen)
    if cap is not None:
        stmt = stmt.where(HealthPackage.sale_price_fen <= cap)
    stmt = stmt.order_by(col(HealthPackage.sort_order), col(HealthPackage.id))
    return _cards(session, list(session.exec(stmt)))


def mall_categories(*, session: TenantSession) -> list[CategoryView]:
    """The active categories that hold at least one published package, in shelf order."""
    has_packages = select(HealthPackage.category_id).where(
        col(HealthPackage.published).is_(True), col(HealthPackage.category_id).is_not(None)
    )
    rows = session.exec(
        select(PackageCategory)
        .where(col(PackageCategory.active).is_(True), col(PackageCategory.id).in_(has_packages))
        .order_by(col(PackageCategory.sort_order), col(PackageCategory.id))
    )
    return [CategoryView(id=c.id, name_zh=c.name_zh, name_en=c.name_en) for c in rows if c.id]


def mall_locations(*, session: TenantSession) -> list[LocationView]:
    """The active locations offering at least one published package (the location filter)."""
    offering = (
        select(PackageLocation.location_id)
        .join(HealthPackage, col(HealthPackage.id) == col(PackageLocation.package_id))
        .where(col(HealthPackage.published).is_(True))
    )
    rows = session.exec(
        select(Location)
        .where(col(Location.active).is_(True), col(Location.id).in_(offering))
        .order_by(col(Location.id))
    )
    return [_location_view(loc) for loc in rows]


def _location_view(loc: Location) -> LocationView:
    assert loc.id is not None
    return LocationView(
        id=loc.id, name_zh=loc.name_zh, name_en=loc.name_en, address=loc.address, phone=loc.phone
    )


def package_detail(*, session: TenantSession, package_id: Any) -> PackageDetail:
    """One published package with its active items, add-ons (active items, at the
    package's add-on price) and active locations. NotFound for a missing,
    unpublished or other tenant's package alike."""
    package = get_published(session, package_id)
    assert package.id is not None
    items = [
        ItemView(
            id=i.id,
            code=i.code,
            name_zh=i.name_zh,
            name_en=i.name_en,
            description_zh=i.description_zh,
            description_en=i.description_en,
        )
        for i in package_items(session, package.id)
        if i.id is not None
    ]
    addons = [
        AddOnView(
            item_id=i.id,
            name_zh=i.name_zh,
            name_en=i.name_en,
            description_zh=i.description_zh,
            description_en=i.description_en,
            price_fen=a.price_fen,
        )
        for a, i in session.exec(
            select(PackageAddOn, ExamItem)
            .join(ExamItem, col(ExamItem.id) == col(PackageAddOn.item_id))
            .where(PackageAddOn.package_id == package.id, col(ExamItem.active).is_(True))
            .order_by(col(ExamItem.code), col(ExamItem.id))
        )
        if i.id is not None
    ]
    locations = [
        _location_view(loc)
        for loc in session.exec(
            select(Location)
            .join(PackageLocation, col(PackageLocation.location_id) == col(Location.id))
            .where(PackageLocation.package_id == package.id, col(Location.active).is_(True))
            .order_by(col(Location.id))
        )
    ]
    (card,) = _cards(session, [package])
    return PackageDetail(
        card=card,
        description_zh=package.description_zh,
        description_en=package.description_en,
        instructions_zh=package.instructions_zh,
        instructions_en=package.instructions_en,
        items=items,
        addons=addons,
        locations=locations,
    )
