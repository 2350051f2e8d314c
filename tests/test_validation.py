"""Input checks shared by every form (prm_saas.validation)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from prm_saas.validation import Checker, format_phone, normalize_email, normalize_phone
from tenants.errors import FieldErrors

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+86-138-0013-8000", "+8613800138000"),
        ("(+86) 13800138000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("\t13800138000\n", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits from a Chinese IME
        ("+８６ １３８ ００１３ ８０００", "+8613800138000"),
        ("+14155552671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+852 9123 4567", "+85291234567"),
    ],
)
def test_normalize_phone_accepts_what_people_type(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "12345",
        "1380013800",
        "138001380001",
        "12800138000",
        "+86 123 4567 8901",
        "+861380013800",
        "4155552671",
        "+0 123 456 789",
        "+1234567",
        "+1234567890123456",
        "1380013800a",
        "+１²³",
        "13800138000 ext 1",
        "+86 138 0013 8000\x00",
        "٠١٣٨٠٠١٣٨٠٠٠",
    ],
)
def test_normalize_phone_refuses_what_is_not_a_phone(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_normalized_phones_are_plain_ascii() -> None:
    got = normalize_phone("+1 ４１５ ５５５ ２６７１")
    assert got == "+14155552671"
    assert got.isascii()


def test_normalize_email_and_format_phone() -> None:
    assert normalize_email("  Zhang.Wei@Example.CN ") == "zhang.wei@example.cn"
    assert format_phone("+8613800138000") == "138 0013 8000"
    assert format_phone("+14155552671") == "+14155552671"
    assert format_phone(None) == ""
    assert format_phone("") == ""


# --- Checker ------------------------------------------------------------------------------


def check(method: str, *args: Any, **kw: Any) -> tuple[Any, dict[str, tuple[str, dict[str, Any]]]]:
    c = Checker()
    value = getattr(c, method)("f", *args, **kw)
    return value, c.errors


def test_checker_collects_the_first_error_per_field_and_raises_them_together() -> None:
    c = Checker()
    c.fail("a", "field.required")
    c.fail("a", "field.too_long", max=3)
    c.fail("b", "field.too_long", max=3)

    with pytest.raises(FieldErrors) as exc:
        c.raise_if_any()

    assert exc.value.errors == {"a": ("field.required", {}), "b": ("field.too_long", {"max": 3})}
    assert exc.value.key == "error.invalid_input"
    Checker().raise_if_any()  # nothing failed: no error


def test_field_errors_single() -> None:
    e = FieldErrors.single("email", "field.email_taken")
    assert e.errors == {"email": ("field.email_taken", {})}


@pytest.mark.parametrize(
    ("value", "kw", "clean", "errors"),
    [
        ("  王小明 ", {"max_len": 10}, "王小明", {}),
        ("", {"max_len": 10}, "", {"f": ("field.required", {})}),
        (None, {"max_len": 10}, "", {"f": ("field.required", {})}),
        ("", {"max_len": 10, "required": False}, "", {}),
        ("abcd", {"max_len": 3}, "abcd", {"f": ("field.too_long", {"max": 3})}),
        ("a\x00b\x07c", {"max_len": 10}, "abc", {}),
        ("第一行\n第二行", {"max_len": 10}, "第一行\n第二行", {}),
        ("\x00", {"max_len": 10}, "", {"f": ("field.required", {})}),
    ],
)
def test_text(value: str | None, kw: dict[str, Any], clean: str, errors: dict[str, Any]) -> None:
    assert check("text", value, **kw) == (clean, errors)


@pytest.mark.parametrize(
    ("value", "required", "clean", "key"),
    [
        (" Li.Na@Example.cn ", True, "li.na@example.cn", None),
        ("a+tag@sub.example.com", True, "a+tag@sub.example.com", None),
        ("", True, None, "field.required"),
        ("", False, None, None),
        ("no-at-sign", True, None, "field.email_invalid"),
        ("a@b", True, None, "field.email_invalid"),
        ("a@@b.cn", True, None, "field.email_invalid"),
        ("a b@c.cn", True, None, "field.email_invalid"),
        ("a\x00@c.cn", True, None, "field.email_invalid"),
        ("a@c.cn\r\nBcc: x@y.cn", True, None, "field.email_invalid"),
        ("x" * 250 + "@c.cn", True, None, "field.email_invalid"),
    ],
)
def test_email(value: str, required: bool, clean: str | None, key: str | None) -> None:
    got, errors = check("email", value, required=required)
    assert got == clean
    assert errors == ({"f": (key, {})} if key else {})


@pytest.mark.parametrize(
    ("value", "required", "clean", "key"),
    [
        ("138 0013 8000", True, "+8613800138000", None),
        ("", True, None, "field.required"),
        ("  ", False, None, None),
        ("123", True, None, "field.phone_invalid"),
        ("123", False, None, "field.phone_invalid"),
    ],
)
def test_phone(value: str, required: bool, clean: str | None, key: str | None) -> None:
    got, errors = check("phone", value, required=required)
    assert got == clean
    assert errors == ({"f": (key, {})} if key else {})


@pytest.mark.parametrize(
    ("value", "personal", "key", "params"),
    [
        ("Health2024go", (), None, {}),
        ("Ab1", (), "field.password_short", {"min": 8}),
        ("", (), "field.password_short", {"min": 8}),
        ("a1" * 65, (), "field.too_long", {"max": 128}),
        ("onlyletters", (), "field.password_weak", {}),
        ("1234567890", (), "field.password_weak", {}),
        ("ABC12345", (), "field.password_weak", {}),
        ("Admin123", (), "field.password_weak", {}),
        ("zz13800138000", ("+8613800138000",), "field.password_personal", {}),
        ("x00138000y", ("+8613800138000",), "field.password_personal", {}),
        ("LiNa2024x", ("li.na@example.cn",), None, {}),
        ("Lina.na2024x", ("li.na@example.cn",), None, {}),
        ("Xli.na2024", ("li.na@example.cn",), "field.password_personal", {}),
        ("Ana12345", ("ana@example.cn",), None, {}),  # too short to be personal
        ("Health2024go", (None, ""), None, {}),
    ],
)
def test_password(
    value: str, personal: tuple[str | None, ...], key: str | None, params: dict[str, Any]
) -> None:
    got, errors = check("password", value, personal=personal)
    assert got == value
    assert errors == ({"f": (key, params)} if key else {})


@pytest.mark.parametrize(
    ("value", "clean", "key"),
    [
        ("sunny-clinic", "sunny-clinic", None),
        (" Sunny-Clinic ", "sunny-clinic", None),
        ("abc", "abc", None),
        ("a" * 40, "a" * 40, None),
        ("ab", "ab", "field.slug_invalid"),
        ("a" * 41, "a" * 41, "field.slug_invalid"),
        ("9lives", "9lives", "field.slug_invalid"),
        ("sunny--clinic", "sunny--clinic", "field.slug_invalid"),
        ("sunny_clinic", "sunny_clinic", "field.slug_invalid"),
        ("阳光诊所", "阳光诊所", "field.slug_invalid"),
        ("admin", "admin", "field.slug_reserved"),
        ("webhooks", "webhooks", "field.slug_reserved"),
    ],
)
def test_slug(value: str, clean: str, key: str | None) -> None:
    got, errors = check("slug", value)
    assert got == clean
    if key is None:
        assert errors == {}
    else:
        assert errors["f"][0] == key


def test_slug_error_names_the_limits() -> None:
    assert check("slug", "x")[1] == {"f": ("field.slug_invalid", {"min": 3, "max": 40})}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Asia/Shanghai", True),
        (" Europe/Berlin ", True),
        ("UTC", True),
        ("America/Argentina/Buenos_Aires", True),
        ("asia/shanghai", False),
        ("Beijing", False),
        ("", False),
        ("localtime", False),
        ("Factory", False),
        ("../etc/passwd", False),
    ],
)
def test_timezone(value: str, ok: bool) -> None:
    got, errors = check("timezone", value)
    assert got == value.strip()
    assert errors == ({} if ok else {"f": ("field.timezone_invalid", {})})


@pytest.mark.parametrize(
    ("value", "ok"),
    [("zh-CN", True), ("en", True), ("EN", False), ("zh", False), ("", False), (None, False)],
)
def test_locale(value: str | None, ok: bool) -> None:
    assert check("locale", value)[1] == ({} if ok else {"f": ("field.locale_invalid", {})})


@pytest.mark.parametrize(
    ("value", "clean", "ok"),
    [
        ("#0F766E", "#0f766e", True),
        (" #abcdef ", "#abcdef", True),
        ("0f766e", "0f766e", False),
        ("#abc", "#abc", False),
        ("#gggggg", "#gggggg", False),
        ("", "", False),
        ("#0f766e;", "#0f766e;", False),
    ],
)
def test_color(value: str, clean: str, ok: bool) -> None:
    assert check("color", value) == (clean, {} if ok else {"f": ("field.color_invalid", {})})


@pytest.mark.parametrize(
    ("value", "kw", "ok"),
    [
        ("https://cdn.example.cn/logo.png", {}, True),
        ("https://cdn.example.cn:8443/a/b?c=d#e", {}, True),
        ("https://例子.中国/logo.png", {}, True),
        ("http://cdn.example.cn/logo.png", {}, False),
        ("https://", {}, False),
        ("https:///path", {}, False),
        ("https://a b.cn", {}, False),
        ("javascript:alert(1)", {}, False),
        ("data:image/png;base64,AAAA", {}, False),
        ("//cdn.example.cn/logo.png", {}, False),
        ("https://x.cn/" + "a" * 490, {}, False),
        ("https://x.cn/\x00", {}, False),
        ("http://localhost:9000/realms/x", {"allow_http_localhost": True}, True),
        ("http://127.0.0.1/", {"allow_http_localhost": True}, True),
        ("http://localhost.evil.cn/", {"allow_http_localhost": True}, False),
        ("http://localhost:9000", {}, False),
    ],
)
def test_url(value: str, kw: dict[str, Any], ok: bool) -> None:
    got, errors = check("url", value, **kw)
    assert errors == ({} if ok else {"f": ("field.url_invalid", {})})
    if ok:
        assert got == value


def test_url_may_be_optional() -> None:
    assert check("url", "  ", required=False) == ("", {})
    assert check("url", "", required=True) == ("", {"f": ("field.required", {})})


def test_choice() -> None:
    assert check("choice", " male ", ["male", "female"]) == ("male", {})
    assert check("choice", "other", ("male", "female"))[1] == {"f": ("field.choice_invalid", {})}
    assert check("choice", None, ["male"])[1] == {"f": ("field.choice_invalid", {})}


@pytest.mark.parametrize(
    ("value", "clean", "key"),
    [
        ("1990-05-17", date(1990, 5, 17), None),
        ("", None, None),
        ("  ", None, None),
        ("2026-06-15", date(2026, 6, 15), None),  # born today
        ("2026-06-16", None, "field.birth_date_future"),
        ("1990-02-30", None, "field.date_invalid"),
        ("17/05/1990", None, "field.date_invalid"),
        ("yesterday", None, "field.date_invalid"),
        ("0001-01-01", None, "field.date_invalid"),
        ("1850-01-01", None, "field.date_invalid"),
    ],
)
def test_birth_date(value: str, clean: date | None, key: str | None) -> None:
    got, errors = check("birth_date", value, TODAY)
    assert got == clean
    assert errors == ({"f": (key, {})} if key else {})
