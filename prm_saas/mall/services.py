"""The mall's services: what booking and orders call (eligibility, pricing),
the patient's catalog (search, detail) and the admin catalog.

Booking and orders import from here; the rules live in
``prm_saas.mall.pricing`` (eligibility, pricing), ``prm_saas.mall.storefront``
(what patients see) and ``prm_saas.mall.admin`` (catalog management).
"""

from __future__ import annotations

from prm_saas.mall.pricing import (
    PricedAddOn,
    PricedPackage,
    PriceLine,
    age_on,
    check_eligibility,
    package_for_booking,
)
from prm_saas.mall.storefront import (
    AddOnView,
    CategoryView,
    ItemView,
    LocationView,
    PackageCard,
    PackageDetail,
    mall_categories,
    mall_locations,
    package_detail,
    published_packages,
)

__all__ = [
    "AddOnView",
    "CategoryView",
    "ItemView",
    "LocationView",
    "PackageCard",
    "PackageDetail",
    "PriceLine",
    "PricedAddOn",
    "PricedPackage",
    "age_on",
    "check_eligibility",
    "mall_categories",
    "mall_locations",
    "package_detail",
    "package_for_booking",
    "published_packages",
]
