"""Code 128 barcodes (subset B) as SVG, for the member card the front desk scans.

Subset B covers printable ASCII (space to ``~``), which is every card number
(a letter-and-digit prefix and digits). A symbol is: quiet zone, Start B, one
symbol per character, the modulo-103 check symbol, Stop, quiet zone. Each symbol
is three bars and three spaces whose widths (1-4 modules) add up to 11; Stop
has a fourth bar (13 modules). The widths below are the published Code 128
table (ISO/IEC 15417), value 0 to 106.
"""

from __future__ import annotations

from html import escape

# Bar/space widths of values 0..106 (103 Start A, 104 Start B, 105 Start C, 106 Stop).
WIDTHS: tuple[str, ...] = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312",
    "132212", "221213", "221312", "231212", "112232", "122132", "122231", "113222",
    "123122", "123221", "223211", "221132", "221231", "213212", "223112", "312131",
    "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321",
    "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121",
    "313121", "211331", "231131", "213113", "213311", "213131", "311123", "311321",
    "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224",
    "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112",
    "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113",
    "114311", "411113", "411311", "113141", "114131", "311141", "411131", "211412",
    "211214", "211232", "2331112",
)  # fmt: skip
START_B = 104
STOP = 106
QUIET = 10  # modules of white on each side
MAX_CHARS = 40


def symbols(text: str) -> list[int]:
    """The symbol values of ``text`` in subset B: Start B, the characters, the
    check symbol, Stop. ValueError for a character outside printable ASCII."""
    if not text or len(text) > MAX_CHARS:
        raise ValueError("a barcode needs 1 to 40 characters")
    values = []
    for ch in text:
        if not 32 <= ord(ch) <= 126:
            raise ValueError(f"{ch!r} is not in Code 128 subset B")
        values.append(ord(ch) - 32)
    check = (START_B + sum(i * v for i, v in enumerate(values, start=1))) % 103
    return [START_B, *values, check, STOP]


def modules(text: str) -> str:
    """The barcode of ``text`` as modules, "1" for bar and "0" for space (no quiet zone)."""
    out = []
    for value in symbols(text):
        for i, width in enumerate(WIDTHS[value]):
            out.append(("1" if i % 2 == 0 else "0") * int(width))
    return "".join(out)


def svg(text: str, *, module: int = 2, height: int = 60, caption: bool = True) -> str:
    """An SVG image of ``text`` as Code 128 B: one ``<rect>`` per bar, a quiet zone
    on both sides, and the text below when ``caption``."""
    bits = modules(text)
    width = (len(bits) + 2 * QUIET) * module
    text_h = 18 if caption else 0
    bars: list[str] = []
    x = 0
    while x < len(bits):
        if bits[x] == "1":
            run = len(bits[x:]) - len(bits[x:].lstrip("1"))
            bars.append(
                f'<rect x="{(QUIET + x) * module}" y="0" width="{run * module}" height="{height}"/>'
            )
            x += run
        else:
            x += 1
    label = escape(text)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + text_h}" '
        f'viewBox="0 0 {width} {height + text_h}" role="img" aria-label="{label}">',
        f'<rect x="0" y="0" width="{width}" height="{height + text_h}" fill="#fff"/>',
        '<g fill="#000">',
        *bars,
        "</g>",
    ]
    if caption:
        parts.append(
            f'<text x="{width // 2}" y="{height + 14}" text-anchor="middle" '
            f'font-family="monospace" font-size="14" fill="#000">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
