"""Input checks shared by every form: each returns the clean value or records an error.

A ``Checker`` collects errors for all fields of a form, so the user sees every
problem at once, then ``raise_if_any()`` raises one FieldErrors.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from prm_saas.i18n import LOCALES
from tenants.errors import FieldErrors
from tenants.resolution import RESERVED_SLUGS, SLUG_MAX, SLUG_MIN, SLUG_RE

# No whitespace and no control characters (PostgreSQL refuses NUL in text; CR/LF
# in an address would be a header injection).
EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[A-Za-z]{2,}$")
# [0-9], not \d: \d also matches full-width and other scripts' digits.
CN_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
E164_RE = re.compile(r"^\+[1-9][0-9]{7,14}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
PASSWORD_MIN = 8
# The most common passwords that pass the letters+digits rule (from public breach
# lists); a full list would live in a file, these catch what people actually type.
COMMON_PASSWORDS = frozenset(
    {
        "password1",
        "password123",
        "abc12345",
        "abcd1234",
        "qwerty123",
        "qwe123456",
        "a1234567",
        "a12345678",
        "aa123456",
        "1qaz2wsx",
        "woaini1314",
        "iloveyou1",
        "admin123",
        "admin1234",
        "passw0rd",
        "p@ssw0rd",
        "123456abc",
        "abc123456",
        "zxcvbnm1",
        "asdf1234",
        "1q2w3e4r",
        "q1w2e3r4",
        "welcome1",
        "letmein1",
    }
)
# The IANA zones, without the host's own "localtime", the placeholder "Factory"
# and the posix/ right/ copies some systems carry: a tenant's zone must mean the
# same on every server.
_TIMEZONES = frozenset(
    tz
    for tz in zoneinfo.available_timezones()
    if tz not in {"localtime", "Factory", "posixrules"} and not tz.startswith(("posix/", "right/"))
)
# Birth dates further back than this are typing mistakes.
MAX_AGE_YEARS = 150


def strip_controls(value: str, *, keep: str = "") -> str:
    """``value`` without control characters (NUL, escape, ...), except those in ``keep``."""
    return "".join(ch for ch in value if ch in keep or unicodedata.category(ch) != "Cc")


def normalize_email(value: str) -> str:
    """Lower-cased, trimmed email."""
    return value.strip().lower()


def normalize_phone(value: str) -> str | None:
    """E.164 form of a phone number, or None if it is not one.

    Chinese mobile numbers may be typed without +86 (or as 86... / 0086...), with
    spaces, dashes or brackets, and in full-width digits (a Chinese input method
    in full-width mode types those).
    """
    raw = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", value or ""))
    if raw.startswith("0086"):
        raw = "+86" + raw[4:]
    elif raw.startswith("86") and CN_MOBILE_RE.match(raw[2:]):
        raw = "+" + raw
    if CN_MOBILE_RE.match(raw):
        return "+86" + raw
    if raw.startswith("+86") and not CN_MOBILE_RE.match(raw[3:]):
        return None
    return raw if E164_RE.match(raw) else None


def format_phone(e164: str | None) -> str:
    """A phone number for display: 138 1234 5678 for Chinese mobiles."""
    if not e164:
        return ""
    if e164.startswith("+86") and len(e164) == 14:
        n = e164[3:]
        return f"{n[:3]} {n[3:7]} {n[7:]}"
    return e164


class Checker:
    """Collects per-field errors for one form."""

    def __init__(self) -> None:
        self.errors: dict[str, tuple[str, dict[str, Any]]] = {}

    def fail(self, field: str, key: str, **params: Any) -> None:
        """Record an error for ``field`` (the first one per field wins)."""
        self.errors.setdefault(field, (key, params))

    def raise_if_any(self) -> None:
        """Raise FieldErrors when anything failed."""
        if self.errors:
            raise FieldErrors(self.errors)

    def text(self, field: str, value: str | None, *, max_len: int, required: bool = True) -> str:
        """A trimmed text value, without control characters (line breaks and tabs stay)."""
        v = strip_controls((value or "").replace("\r\n", "\n"), keep="\n\t").strip()
        if required and not v:
            self.fail(field, "field.required")
        elif len(v) > max_len:
            self.fail(field, "field.too_long", max=max_len)
        return v

    def email(self, field: str, value: str | None, *, required: bool = True) -> str | None:
        """A normalized email, or None when empty and optional."""
        v = normalize_email(value or "")
        if not v:
            if required:
                self.fail(field, "field.required")
            return None
        if len(v) > 254 or not EMAIL_RE.match(v):
            self.fail(field, "field.email_invalid")
            return None
        return v

    def phone(self, field: str, value: str | None, *, required: bool = True) -> str | None:
        """An E.164 phone number, or None when empty and optional."""
        if not (value or "").strip():
            if required:
                self.fail(field, "field.required")
            return None
        v = normalize_phone(value or "")
        if v is None:
            self.fail(field, "field.phone_invalid")
        return v

    def password(
        self, field: str, value: str | None, *, personal: tuple[str | None, ...] = ()
    ) -> str:
        """A new password that meets the policy (length, letters+digits, not common/personal)."""
        v = value or ""
        if len(v) < PASSWORD_MIN:
            self.fail(field, "field.password_short", min=PASSWORD_MIN)
        elif len(v) > 128:
            self.fail(field, "field.too_long", max=128)
        elif (
            not re.search(r"[A-Za-z]", v)
            or not re.search(r"\d", v)
            or v.lower() in COMMON_PASSWORDS
        ):
            self.fail(field, "field.password_weak")
        else:
            low = v.lower()
            for p in personal:
                if not p:
                    continue
                token = p.lower().lstrip("+")
                token = token.split("@")[0] if "@" in token else token[-8:]
                if len(token) >= 4 and token in low:
                    self.fail(field, "field.password_personal")
                    break
        return v

    def slug(self, field: str, value: str | None) -> str:
        """A tenant slug."""
        v = (value or "").strip().lower()
        if not (SLUG_MIN <= len(v) <= SLUG_MAX) or not SLUG_RE.match(v):
            self.fail(field, "field.slug_invalid", min=SLUG_MIN, max=SLUG_MAX)
        elif v in RESERVED_SLUGS:
            self.fail(field, "field.slug_reserved")
        return v

    def timezone(self, field: str, value: str | None) -> str:
        """An IANA time zone name."""
        v = (value or "").strip()
        if v not in _TIMEZONES:
            self.fail(field, "field.timezone_invalid")
        return v

    def locale(self, field: str, value: str | None) -> str:
        """A supported UI locale."""
        v = (value or "").strip()
        if v not in LOCALES:
            self.fail(field, "field.locale_invalid")
        return v

    def color(self, field: str, value: str | None) -> str:
        """A #RRGGBB color."""
        v = (value or "").strip()
        if not COLOR_RE.match(v):
            self.fail(field, "field.color_invalid")
        return v.lower()

    def url(
        self,
        field: str,
        value: str | None,
        *,
        required: bool = True,
        allow_http_localhost: bool = False,
    ) -> str:
        """An https URL with a host (http only for localhost when allowed, e.g. a test IdP)."""
        v = (value or "").strip()
        if not v:
            if required:
                self.fail(field, "field.required")
            return ""
        try:
            parts = urlsplit(v)
            scheme, host = parts.scheme, parts.hostname or ""
        except ValueError:
            scheme, host = "", ""
        local_http = allow_http_localhost and (
            re.match(r"^http://(localhost|127\.0\.0\.1)(:[0-9]+)?(/|$)", v) is not None
        )
        ok = bool(host) and (scheme == "https" or local_http)
        if not ok or len(v) > 500 or any(c.isspace() or unicodedata.category(c) == "Cc" for c in v):
            self.fail(field, "field.url_invalid")
        return v

    def choice(self, field: str, value: str | None, choices: tuple[str, ...] | list[str]) -> str:
        """One of ``choices``."""
        v = (value or "").strip()
        if v not in choices:
            self.fail(field, "field.choice_invalid")
        return v

    def birth_date(self, field: str, value: str | None, today: date) -> date | None:
        """An optional date of birth, not in the future nor implausibly long ago."""
        v = (value or "").strip()
        if not v:
            return None
        try:
            d = date.fromisoformat(v)
        except ValueError:
            self.fail(field, "field.date_invalid")
            return None
        if d > today:
            self.fail(field, "field.birth_date_future")
            return None
        if d.year < today.year - MAX_AGE_YEARS:
            self.fail(field, "field.date_invalid")
            return None
        return d
