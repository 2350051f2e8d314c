"""What booking and orders ask the mall: may this patient take this package on
that day, and what does the package with these add-ons cost at that location.

These two functions are the contract of docs/design/booking.md; the booking and
orders packages call them inside their own transactions (no commit here).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import col, select

from prm_saas.accounts.models import Sex
from prm_saas.booking.models import Location
from prm_saas.mall.models import (
    ExamItem,
    HealthPackage,
    PackageAddOn,
    PackageItem,
    PackageLocation,
    TargetSex,
)
from tenants.db import TenantSession
from tenants.errors import DomainError, NotFound
from tenants.lookup import get_or_404

# A package with max_age at or above this has no upper age limit (the model's
# default is 120), and min_age 0 means no lower limit.
NO_MAX_AGE = 120
# More add-ons than this in one request is a hostile client, not a patient.
MAX_ADDONS = 50


def age_on(birth_date: date, day: date) -> int:
    """Full years of age on ``day``: the age goes up on the birthday itself.

    Someone born on 29 February turns a year older on 1 March in common years
    (their birthday has not come yet on 28 February).
    """
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def restricts_age(package: HealthPackage) -> bool:
    """Whether the package has a lower or an upper age limit."""
    return package.min_age > 0 or package.max_age < NO_MAX_AGE


def check_eligibility(
    *, package: HealthPackage, sex: str, birth_date: date | None, on_day: date
) -> str | None:
    """``None`` if a patient of this sex and birth date may take ``package`` on
    ``on_day``, else the message key saying why not.

    - Sex: a package for men (women) needs a patient recorded as male (female).
      A patient whose sex is unknown (``Sex.UNKNOWN``, empty or anything else)
      passes only packages for anyone; for a sex-specific package the key is
      ``booking.sex_required`` (the patient should complete the profile).
    - Age: full years on the exam day (the day of the checkup, not today), so a
      patient whose 18th birthday is the exam day is 18 for that exam. The range
      is inclusive: ``min_age <= age <= max_age``. Too young gives
      ``booking.too_young``, too old ``booking.too_old``. A patient with no birth
      date passes only packages without an age limit (``min_age == 0`` and
      ``max_age >= 120``); otherwise the key is ``booking.birth_date_required``.
    - A birth date after the exam day is treated like an unknown birth date.

    Sex is checked before age, so the first reason found is returned.
    """
    target = TargetSex(package.target_sex)
    if target != TargetSex.ANY:
        if sex not in (Sex.MALE.value, Sex.FEMALE.value):
            return "booking.sex_required"
        if sex != target.value:
            return "booking.wrong_sex"
    if not restricts_age(package):
        return None
    if birth_date is None or birth_date > on_day:
        return "booking.birth_date_required"
    age = age_on(birth_date, on_day)
    if age < package.min_age:
        return "booking.too_young"
    if age > package.max_age:
        return "booking.too_old"
    return None


@dataclass(frozen=True)
class PriceLine:
    """One priced line, turned by orders into an ``OrderLine``. ``name`` is the
    Chinese name (what the clinic's receipts show), ``name_en`` the English one."""

    kind: str  # "package" or "addon"
    ref_id: int  # HealthPackage.id or ExamItem.id
    name: str
    unit_price_fen: int
    quantity: int
    amount_fen: int
    name_en: str = ""


@dataclass(frozen=True)
class PricedAddOn:
    """An add-on chosen for a booking, at the package's add-on price."""

    item: ExamItem
    price_fen: int


@dataclass(frozen=True)
class PricedPackage:
    """A package as it would be booked at one location with chosen add-ons."""

    package: HealthPackage
    location_id: int
    addons: list[PricedAddOn]
    resource_keys: set[str]
    lines: list[PriceLine]
    total_fen: int
    items: list[ExamItem] = field(default_factory=list)

    @property
    def addon_item_ids(self) -> list[int]:
        """The chosen add-ons' item ids, in the order given."""
        return [a.item.id for a in self.addons if a.item.id is not None]


def _clean_ids(values: Iterable[object]) -> list[int]:
    """Distinct integer ids in the order given; anything else is an unknown add-on."""
    out: list[int] = []
    for v in values:
        if isinstance(v, bool):
            raise DomainError("mall.addon_unavailable")
        try:
            i = int(v)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise DomainError("mall.addon_unavailable") from None
        if i not in out:
            out.append(i)
    if len(out) > MAX_ADDONS:
        raise DomainError("mall.addon_unavailable")
    return out


def package_items(session: TenantSession, package_id: int) -> list[ExamItem]:
    """The active items of a package, by code. An item switched off by the admin
    is treated as gone from every package (not shown, needs no resource)."""
    return list(
        session.exec(
            select(ExamItem)
            .join(PackageItem, col(PackageItem.item_id) == col(ExamItem.id))
            .where(PackageItem.package_id == package_id, col(ExamItem.active).is_(True))
            .order_by(col(ExamItem.code), col(ExamItem.id))
        )
    )


def offered_at(session: TenantSession, package_id: int, location_id: int) -> bool:
    """Whether the package can be booked at this (active) location."""
    row = session.exec(
        select(PackageLocation.id)
        .join(Location, col(Location.id) == col(PackageLocation.location_id))
        .where(
            PackageLocation.package_id == package_id,
            PackageLocation.location_id == location_id,
            col(Location.active).is_(True),
        )
    ).first()
    return row is not None


def package_for_booking(
    *,
    session: TenantSession,
    package_id: int,
    location_id: int,
    addon_item_ids: Sequence[int],
) -> PricedPackage:
    """The package priced for a booking at ``location_id`` with these add-ons.

    Raises ``NotFound`` for a package id that does not exist in this tenant (an
    id of another tenant alike), ``DomainError("mall.package_unavailable")`` for
    an unpublished package, ``DomainError("booking.not_offered")`` when the
    package is not offered at that location (or the location is unknown or
    inactive), and ``DomainError("mall.addon_unavailable")`` for an add-on that
    is not an add-on of this package, or whose item is inactive. Repeated add-on
    ids count once. Reads only; the caller's transaction decides.
    """
    package = get_or_404(session, HealthPackage, package_id)
    if not package.published:
        raise DomainError("mall.package_unavailable")
    try:
        if isinstance(location_id, bool):
            raise TypeError
        loc = int(location_id)
    except (TypeError, ValueError):
        raise DomainError("booking.not_offered") from None
    assert package.id is not None
    if not offered_at(session, package.id, loc):
        raise DomainError("booking.not_offered")
    wanted = _clean_ids(addon_item_ids)
    offered: dict[int, tuple[PackageAddOn, ExamItem]] = {}
    if wanted:
        rows = session.exec(
            select(PackageAddOn, ExamItem)
            .join(ExamItem, col(ExamItem.id) == col(PackageAddOn.item_id))
            .where(
                PackageAddOn.package_id == package.id,
                col(PackageAddOn.item_id).in_(wanted),
                col(ExamItem.active).is_(True),
            )
        )
        offered = {item.id: (addon, item) for addon, item in rows if item.id is not None}
    if any(i not in offered for i in wanted):
        raise DomainError("mall.addon_unavailable")
    items = package_items(session, package.id)
    addons = [PricedAddOn(item=offered[i][1], price_fen=offered[i][0].price_fen) for i in wanted]
    keys = {it.resource_key for it in items if it.resource_key}
    keys |= {a.item.resource_key for a in addons if a.item.resource_key}
    lines = [
        PriceLine(
            kind="package",
            ref_id=package.id,
            name=package.name_zh,
            unit_price_fen=package.sale_price_fen,
            quantity=1,
            amount_fen=package.sale_price_fen,
            name_en=package.name_en,
        )
    ]
    for a in addons:
        assert a.item.id is not None
        lines.append(
            PriceLine(
                kind="addon",
                ref_id=a.item.id,
                name=a.item.name_zh,
                unit_price_fen=a.price_fen,
                quantity=1,
                amount_fen=a.price_fen,
                name_en=a.item.name_en,
            )
        )
    return PricedPackage(
        package=package,
        location_id=loc,
        addons=addons,
        resource_keys=keys,
        lines=lines,
        total_fen=sum(line.amount_fen for line in lines),
        items=items,
    )


def get_published(session: TenantSession, package_id: object) -> HealthPackage:
    """A published package of this tenant, else NotFound (unpublished looks missing)."""
    package = get_or_404(session, HealthPackage, package_id)
    if not package.published:
        raise NotFound()
    return package
