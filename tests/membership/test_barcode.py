"""Code 128 B for the member card: the bar pattern of a known string equals the
published table (symbol by symbol, with the modulo-103 check symbol), and the
SVG's bars read back to that pattern."""

from __future__ import annotations

import re

import pytest

from prm_saas.membership import barcode

# From the published Code 128 table (ISO/IEC 15417; also Wikipedia's "Code 128"):
# value -> modules, 1 = bar, 0 = space.
PUBLISHED = {
    104: "11010010000",  # Start B
    48: "11101110110",  # P
    42: "10110111000",  # J
    17: "10011100110",  # 1
    18: "11001110010",  # 2
    19: "11001011100",  # 3
    35: "10001000110",  # C
    55: "11101000110",  # the check symbol of PJJ123C in subset B
    45: "10111011000",  # M
    16: "10011101100",  # 0
    106: "1100011101011",  # Stop (with its termination bar)
}


def _read_svg(image: str) -> str:
    """The module string the SVG's bars draw (the scanner's view, quiet zone cut)."""
    module = 2
    bars = [
        (int(x) // module, int(w) // module)
        for x, w in re.findall(r'<rect x="(\d+)" y="0" width="(\d+)" height="60"/>', image)
    ]
    start, end = bars[0][0], bars[-1][0] + bars[-1][1]
    bits = ["0"] * (end - start)
    for x, w in bars:
        for i in range(x - start, x - start + w):
            bits[i] = "1"
    return "".join(bits)


def test_a_known_string_matches_the_published_table() -> None:
    # Wikipedia's worked example is PJJ123C in subset A: 103 + 1*48 + 2*42 + 3*42
    # + 4*17 + 5*18 + 6*19 + 7*35 = 878, check 878 % 103 = 54. Subset B starts with
    # 104 instead, so its check symbol is 55.
    assert barcode.symbols("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55, 106]
    expected = "".join(PUBLISHED[v] for v in [104, 48, 42, 42, 17, 18, 19, 35, 55, 106])
    assert barcode.modules("PJJ123C") == expected


def test_a_card_number_draws_its_pattern_in_the_svg() -> None:
    # M00000001: M is 45, "0" is 16, "1" is 17; weights are the positions 1..9.
    values = barcode.symbols("M00000001")
    assert values[:-2] == [104, 45, 16, 16, 16, 16, 16, 16, 16, 17]
    assert values[-2] == (104 + 1 * 45 + 16 * sum(range(2, 9)) + 9 * 17) % 103 == 38
    image = barcode.svg("M00000001")
    assert image.startswith("<svg")
    assert image.endswith("</svg>")
    assert _read_svg(image) == barcode.modules("M00000001")
    assert _read_svg(image).startswith(PUBLISHED[104] + PUBLISHED[45] + PUBLISHED[16])
    assert _read_svg(image).endswith(PUBLISHED[106])
    assert ">M00000001</text>" in image
    assert "<text" not in barcode.svg("M00000001", caption=False)


def test_the_table_is_well_formed() -> None:
    assert len(barcode.WIDTHS) == 107
    assert all(sum(map(int, w)) == 11 for w in barcode.WIDTHS[:106])
    assert sum(map(int, barcode.WIDTHS[106])) == 13
    assert len(set(barcode.WIDTHS)) == 107


def test_text_outside_subset_b_is_refused() -> None:
    for bad in ("", "会员", "A\nB", "X" * 41):
        with pytest.raises(ValueError, match=r"subset B|1 to 40"):
            barcode.symbols(bad)
    assert "&lt;" in barcode.svg("<1>")  # escaped in the caption
