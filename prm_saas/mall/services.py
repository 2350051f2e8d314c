"""The mall's services: what booking and orders call (eligibility, pricing),
the patient's catalog (search, detail) and the admin catalog.

Booking and orders import from here; the pricing rules live in
``prm_saas.mall.pricing``.
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

__all__ = [
    "PriceLine",
    "PricedAddOn",
    "PricedPackage",
    "age_on",
    "check_eligibility",
    "package_for_booking",
]
