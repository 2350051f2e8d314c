"""Prices typed by people (yuan, "1299.00") to integer fen, exactly.

Floats never touch a price: the text is checked against a strict pattern and
converted with Decimal, so "0.29" is 29 fen and not 28.999... .
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from prm_saas.validation import Checker

# Digits with at most two decimals; no sign, no exponent, no spaces inside.
_YUAN_RE = re.compile(r"^[0-9]{1,9}(\.[0-9]{0,2})?$")
# Ten million yuan: far above any checkup, far below any integer limit.
MAX_FEN = 10_000_000 * 100


def parse_yuan(value: object) -> int | None:
    """Fen for a yuan amount such as ``"1299"``, ``"1299.5"``, ``"¥1,299.00"``
    (full-width digits too), else None. Negative amounts, more than two
    decimals, exponents and anything else are refused."""
    if not isinstance(value, str):
        return None
    v = unicodedata.normalize("NFKC", value).strip()
    v = v.removeprefix("¥").strip()
    if re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?", v):
        v = v.replace(",", "")  # thousands separators, only where they belong
    if not _YUAN_RE.match(v):
        return None
    fen = int(Decimal(v) * 100)
    return fen if fen <= MAX_FEN else None


def fen_to_yuan_text(fen: int) -> str:
    """Fen as the text an editor shows for a price: 129900 -> "1299.00"."""
    whole, cents = divmod(int(fen), 100)
    return f"{whole}.{cents:02d}"


def check_yuan(c: Checker, field: str, value: object, *, required: bool = True) -> int:
    """A price field: fen, or a recorded error (``mall.price_invalid``) and 0."""
    if not (isinstance(value, str) and value.strip()):
        if required:
            c.fail(field, "field.required")
        return 0
    fen = parse_yuan(value)
    if fen is None:
        c.fail(field, "mall.price_invalid")
        return 0
    return fen
