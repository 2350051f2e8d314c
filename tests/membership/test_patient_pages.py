"""The patient's card, wallet and rewards pages: they build, and their rows say
what the services returned, in the patient's language and the tenant's zone."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from pages.patient.card import barcode_uri, card_page
from pages.patient.rewards import coupon_row, reward_row, rewards_page, terms_text
from pages.patient.wallet import (
    benefits_text,
    history_row,
    level_info,
    points_text,
    wallet_info,
    wallet_page,
)
from prm_saas.membership.rewards import CouponView, RewardCard
from prm_saas.membership.statement import HistoryLine, LevelView
from prm_saas.membership.wallet import Wallet

GOLD = LevelView(
    id=3,
    name_zh="金卡",
    name_en="Gold",
    rank=2,
    min_points_12m=5000,
    min_spent_fen_12m=0,
    discount_percent=5,
    multiplier_percent=150,
    active=True,
)
SILVER = replace(GOLD, id=2, name_zh="银卡", name_en="", discount_percent=0, multiplier_percent=100)


def _wallet(**kw: object) -> Wallet:
    fields: dict[str, object] = {
        "card_number": "M00000042",
        "level": SILVER,
        "next_level": GOLD,
        "points_to_next": 1200,
        "balance": 800,
        "spendable": 500,
        "locked": 300,
        "unlocks_on": date(2026, 12, 8),
        "expiring": 0,
        "expiring_last_day": None,
        "notice_days": 30,
        "points_12m": 3800,
        "history": [],
    }
    fields.update(kw)
    return Wallet(**fields)  # type: ignore[arg-type]


def test_the_pages_build() -> None:
    for build in (card_page, wallet_page, rewards_page):
        assert build() is not None


def test_benefits_in_words() -> None:
    assert benefits_text(GOLD, "zh-CN") == ["商城购物优惠 5%", "积分 1.5 倍"]
    assert benefits_text(GOLD, "en") == ["5% off in the mall", "Points x1.5"]
    assert benefits_text(replace(GOLD, multiplier_percent=200), "en")[1] == "Points x2"
    assert benefits_text(SILVER, "en") == []
    assert benefits_text(None, "en") == []


def test_the_card_its_level_and_the_way_up() -> None:
    info = level_info(_wallet(), "en")
    # No English name for the silver level: the Chinese one.
    assert (info["number"], info["level"], info["benefits"]) == ("M00000042", "银卡", "")
    assert info["next"] == "Earn 1200 more points within 12 months to reach “Gold”"
    top = level_info(_wallet(level=GOLD, next_level=None, points_to_next=0), "zh-CN")
    assert (top["level"], top["benefits"], top["next"]) == (
        "金卡",
        "商城购物优惠 5% · 积分 1.5 倍",
        "",
    )
    assert level_info(_wallet(card_number="", level=None), "zh-CN")["number"] == ""


def test_locked_and_expiring_points_say_until_when() -> None:
    info = wallet_info(_wallet())
    assert (info["balance"], info["spendable"], info["locked"], info["unlocks_on"]) == (
        "800",
        "500",
        "300",
        "2026-12-08",
    )
    assert (info["expiring"], info["expiring_last_day"]) == ("", "")
    soon = wallet_info(
        _wallet(locked=0, unlocks_on=None, expiring=120, expiring_last_day=date(2027, 1, 31))
    )
    assert (soon["locked"], soon["unlocks_on"]) == ("", "")
    assert (soon["expiring"], soon["expiring_last_day"]) == ("120", "2027-01-31")


@pytest.mark.parametrize(
    ("lang", "label", "kind_label"),
    [("zh-CN", "完成体检", "获得"), ("en", "Checkup completed", "Earned")],
)
def test_a_history_line_in_the_readers_language_and_the_tenants_zone(
    lang: str, label: str, kind_label: str
) -> None:
    line = HistoryLine(
        id=7,
        at=datetime(2026, 11, 30, 17, 30, tzinfo=UTC),  # 01:30 the next day in Shanghai
        kind="earn",
        points=200,
        kind_key="points.kind.earn",
        reason_key="points.reason.checkup_completed",
        note="",
        source_type="booking",
        source_id="12",
    )
    row = history_row(line, lang, "Asia/Shanghai")
    assert (row["when"], row["label"], row["kind_label"], row["points"], row["plus"]) == (
        "2026-12-01 01:30",
        label,
        kind_label,
        "+200",
        "1",
    )
    spent = history_row(replace(line, points=-80, kind="redeem"), lang, "Asia/Shanghai")
    assert (spent["points"], spent["plus"]) == ("-80", "")
    assert points_text(0) == "0"


@pytest.mark.parametrize(
    ("kw", "zh", "en"),
    [
        ({"kind": "package_coupon", "package": "入职"}, "免费体检：入职", "Free checkup: 入职"),
        (
            {"kind": "package_coupon", "package": "A", "cash_fen": 9900},
            "A：积分 + ¥99.00",
            "A for points + ¥99.00",
        ),
        ({"kind": "discount_coupon", "discount_fen": 5000}, "立减 ¥50.00", "¥50.00 off"),
        (
            {"kind": "discount_coupon", "discount_percent": 10, "min_spend_fen": 100000},
            "优惠 10%，满 ¥1,000.00 可用",
            "10% off, on orders of ¥1,000.00 or more",
        ),
        ({"kind": "gift"}, "礼品，到院前台领取", "A gift to collect at the front desk"),
        (
            {"kind": "gift", "cash_fen": 1000},
            "礼品，到院前台领取，另付 ¥10.00",
            "A gift to collect at the front desk, paying ¥10.00 there",
        ),
    ],
)  # fmt: skip
def test_what_a_reward_gives_in_words(kw: dict[str, object], zh: str, en: str) -> None:
    base: dict[str, object] = {
        "package": "",
        "cash_fen": 0,
        "discount_fen": 0,
        "discount_percent": 0,
        "min_spend_fen": 0,
    }
    base.update(kw)
    assert terms_text(**base, lang="zh-CN") == zh  # type: ignore[arg-type]
    assert terms_text(**base, lang="en") == en  # type: ignore[arg-type]


def _reward(**kw: object) -> RewardCard:
    fields: dict[str, object] = {
        "id": 5,
        "kind": "discount_coupon",
        "name_zh": "50 元券",
        "name_en": "¥50 coupon",
        "description_zh": "",
        "description_en": "",
        "points_cost": 300,
        "package_id": None,
        "package_name_zh": "",
        "package_name_en": "",
        "cash_fen": 0,
        "discount_fen": 5000,
        "discount_percent": 0,
        "min_spend_fen": 0,
        "stock_left": None,
        "per_patient_limit": 1,
        "redeemed_by_me": 0,
        "coupon_valid_days": 30,
        "affordable": True,
        "limit_reached": False,
    }
    fields.update(kw)
    return RewardCard(**fields)  # type: ignore[arg-type]


def test_a_reward_row_says_whether_it_can_be_redeemed() -> None:
    row = reward_row(_reward(), "en")
    assert (row["id"], row["name"], row["terms"], row["cost"], row["stock"]) == (
        "5",
        "¥50 coupon",
        "¥50.00 off",
        "300",
        "",
    )
    assert row["can_redeem"] == "1"
    poor = reward_row(_reward(affordable=False, stock_left=3), "zh-CN")
    assert (poor["name"], poor["stock"], poor["affordable"], poor["can_redeem"]) == (
        "50 元券",
        "3",
        "",
        "",
    )
    done = reward_row(_reward(limit_reached=True), "zh-CN")
    assert (done["limit_reached"], done["can_redeem"]) == ("1", "")


def test_a_coupon_row_shows_its_code_status_and_local_expiry() -> None:
    coupon = CouponView(
        id=9,
        code="K7Q2AM9XPB",
        code_display="K7Q2A-M9XPB",
        reward_id=5,
        kind="package_coupon",
        name_zh="免费体检券",
        name_en="",
        status="issued",
        usable=True,
        points_cost=300,
        package_id=12,
        package_name_zh="入职体检",
        package_name_en="Pre-employment",
        cash_fen=0,
        discount_fen=0,
        discount_percent=0,
        min_spend_fen=0,
        issued_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
        expires_at=datetime(2026, 12, 31, 15, 59, tzinfo=UTC),
        used_at=None,
        order_id=None,
        void_reason="",
        patient_id=1,
        patient_name="x",
    )
    row = coupon_row(coupon, "en", "Asia/Shanghai")
    assert (row["code"], row["name"], row["terms"]) == (
        "K7Q2A-M9XPB",
        "免费体检券",
        "Free checkup: Pre-employment",
    )
    assert (row["status_label"], row["expires"], row["used"], row["package_id"]) == (
        "Ready to use",
        "2026-12-31 23:59",
        "",
        "12",
    )
    used = coupon_row(
        replace(
            coupon, status="used", usable=False, used_at=datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
        ),
        "zh-CN",
        "Asia/Shanghai",
    )
    assert (used["status_label"], used["used"], used["package_id"]) == (
        "已使用",
        "2026-12-05 09:00",
        "",
    )


def test_the_card_number_as_a_barcode_image() -> None:
    uri = barcode_uri("M00000042")
    assert uri.startswith("data:image/svg+xml;base64,")
    assert b"M00000042" in base64.b64decode(uri.split(",", 1)[1])
    assert barcode_uri("") == ""
