"""Formatting for screens: times in the tenant's zone, masked phone numbers."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import lru_cache

from prm_saas.validation import format_phone


@lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_time(value: datetime | None, tz: str, *, seconds: bool = False) -> str:
    """An instant as wall-clock time in ``tz`` (the tenant's zone), e.g. 2026-11-24 15:04."""
    if value is None:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return value.astimezone(_zone(tz)).strftime(fmt)


def masked_phone(e164: str | None) -> str:
    """A phone number with the middle digits hidden: 138 **** 5678."""
    shown = format_phone(e164)
    parts = shown.split(" ")
    if len(parts) == 3:
        return f"{parts[0]} **** {parts[2]}"
    return shown[:4] + "****" + shown[-4:] if len(shown) > 8 else shown


def yuan(fen: int | None) -> str:
    """An amount of integer fen as yuan for screens: 129900 -> ¥1,299.00."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


# The zones clinics in our markets use, first; every IANA zone is accepted.
COMMON_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "America/New_York",
    "UTC",
)


@lru_cache(maxsize=1)
def timezone_choices() -> tuple[str, ...]:
    """Time zones for a picker: the common ones, then all others alphabetically."""
    rest = sorted(zoneinfo.available_timezones() - set(COMMON_ZONES) - {"localtime", "Factory"})
    return COMMON_ZONES + tuple(rest)
