"""The message catalog: every key the code uses exists in both languages."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from prm_saas.i18n import DEFAULT_LOCALE, LOCALES, MESSAGES, normalize_locale, translate

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("prm_saas", "tenants", "pages", "components")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
# Callables whose first argument is a message key.
KEY_FIRST = {"translate", "t", "tr", "_t", "DomainError"}
# Callables whose second argument is a message key: Checker.fail(field, key), FieldErrors.single.
KEY_SECOND = {"fail", "single", "_fail_field"}
KEY_KEYWORDS = {"key", "error_key", "message_key", "title_key", "label_key"}


def _source_files() -> list[Path]:
    files: list[Path] = []
    for d in SOURCE_DIRS:
        files += sorted(p for p in (ROOT / d).rglob("*.py") if ".web" not in p.parts)
    return files


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _key(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY_RE.match(node.value):
        return node.value
    return None


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """Names of DomainError and every class deriving from it, anywhere in the code."""
    classes = {"DomainError"}
    changed = True
    while changed:
        changed = False
        for tree in trees:
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in classes
                    and any(_name(b) in classes for b in node.bases)
                ):
                    classes.add(node.name)
                    changed = True
    return classes


def used_keys() -> dict[str, list[str]]:
    """Every message key in the code, with where it is used.

    Found where keys are handed to the message machinery: the first argument of
    translate()/t()/tr() and of DomainError and its subclasses, the key of
    Checker.fail() and FieldErrors.single(), ``key=``/``error_key=`` keywords,
    a ``key = "..."`` class attribute of an error class, and the first item of a
    ``("field.x", {...})`` pair (how field errors are returned).
    """
    trees = {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in _source_files()}
    errors = _error_classes(list(trees.values()))
    found: dict[str, list[str]] = {}

    def add(key: str | None, path: Path, node: ast.AST) -> None:
        if key:
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            found.setdefault(key, []).append(where)

    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _name(node.func)
                if (name in KEY_FIRST or name in errors) and node.args:
                    add(_key(node.args[0]), path, node)
                if name in KEY_SECOND and len(node.args) >= 2:
                    add(_key(node.args[1]), path, node)
                for kw in node.keywords:
                    if kw.arg in KEY_KEYWORDS:
                        add(_key(kw.value), path, node)
            elif isinstance(node, ast.ClassDef) and node.name in errors:
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and len(stmt.targets) == 1
                        and _name(stmt.targets[0]) == "key"
                    ):
                        add(_key(stmt.value), path, stmt)
            elif (
                isinstance(node, ast.Tuple)
                and len(node.elts) == 2
                and isinstance(node.elts[1], ast.Dict)
            ):
                add(_key(node.elts[0]), path, node)
    return found


CATALOG_MODULES = {"prm_saas/i18n.py", "prm_saas/i18n_ui.py"}
# Keywords (and dict keys) whose dotted strings are names, not messages: audit
# actions, Celery task names, foreign keys.
NOT_MESSAGE_KEYWORDS = {"action", "name", "task", "foreign_key"}
ENUM_BASES = {"Enum", "StrEnum", "IntEnum"}


def dotted_literals_in_message_namespaces() -> dict[str, list[str]]:
    """Every dotted string literal whose first part is a namespace of the catalog
    ("auth.", "field.", "nav.", ...), wherever it sits: in a list of (value, key)
    pairs on a page, in a module constant, in a dict. Audit action names
    (``action=...``) and enum values (permission names) share those namespaces
    but are not messages, so they are left out."""
    namespaces = {k.split(".")[0] for k in MESSAGES}
    found: dict[str, list[str]] = {}
    for path in _source_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in CATALOG_MODULES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), rel)
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in NOT_MESSAGE_KEYWORDS:
                skip |= {id(n) for n in ast.walk(node.value)}
            elif isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    if isinstance(k, ast.Constant) and k.value in NOT_MESSAGE_KEYWORDS:
                        skip |= {id(n) for n in ast.walk(v)}
            elif isinstance(node, ast.ClassDef) and any(_name(b) in ENUM_BASES for b in node.bases):
                skip |= {id(n) for st in node.body for n in ast.walk(st)}
        for node in ast.walk(tree):
            key = _key(node) if isinstance(node, ast.Constant) else None
            if key and id(node) not in skip and key.split(".")[0] in namespaces:
                found.setdefault(key, []).append(f"{rel}:{node.lineno}")
    return found


def _placeholders(text: str) -> set[str]:
    return {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None}


# --- the catalog covers the code -----------------------------------------------------------


def test_the_scan_finds_the_keys_it_should() -> None:
    # Keys used in each way the scanner knows; if one of these is missing the scan is broken.
    keys = used_keys()
    for expected in (
        "auth.locked",
        "auth.bad_credentials",
        "field.phone_taken",
        "field.code_invalid",
        "error.not_found",
        "messaging.no_address",
        "auth.last_admin",
        "field.email_taken_staff",
    ):
        assert expected in keys, expected
    # Audit action names are not message keys
    assert "auth.login_failed" not in keys
    assert "staff.invited" not in keys


def test_every_key_used_in_the_code_exists_in_the_catalog() -> None:
    missing = {k: where for k, where in used_keys().items() if k not in MESSAGES}
    assert missing == {}


def test_every_dotted_literal_in_a_message_namespace_exists_in_the_catalog() -> None:
    literals = dotted_literals_in_message_namespaces()
    assert "nav.home" in literals or "auth.locked" in literals  # the scan sees the code
    missing = {k: where for k, where in literals.items() if k not in MESSAGES}
    assert missing == {}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_both_languages(key: str) -> None:
    pair = MESSAGES[key]
    assert len(pair) == len(LOCALES) == 2
    zh, en = pair
    assert zh.strip(), f"{key}: empty zh-CN"
    assert en.strip(), f"{key}: empty en"
    assert KEY_RE.match(key), f"{key}: not a dotted key"


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_languages_take_the_same_parameters(key: str) -> None:
    zh, en = MESSAGES[key]
    assert _placeholders(zh) == _placeholders(en), key
    params = {p: "X" for p in _placeholders(zh)}
    # Both render without leftovers once given their parameters
    for loc in LOCALES:
        out = translate(key, loc, **params)
        assert not re.search(r"\{\w*\}", out), (key, loc, out)


# --- translate and locales ------------------------------------------------------------------


def test_translate_picks_the_language_and_formats() -> None:
    assert translate("auth.locked", "en", minutes=15) == (
        "Too many failed sign-ins. Try again in 15 minutes."
    )
    assert translate("auth.locked", "zh-CN", minutes=15) == "登录失败次数过多，请 15 分钟后再试。"
    assert translate("auth.locked", None, minutes=3) == translate("auth.locked", "zh-CN", minutes=3)
    assert translate("auth.locked", "fr", minutes=3) == translate(
        "auth.locked", DEFAULT_LOCALE, minutes=3
    )


def test_translate_survives_unknown_keys_and_missing_parameters() -> None:
    assert translate("no.such.key", "en") == "no.such.key"
    assert translate("auth.locked", "en") == MESSAGES["auth.locked"][1]
    assert translate("auth.locked", "en", wrong=1) == MESSAGES["auth.locked"][1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en", "en"),
        ("en-US", "en"),
        (" EN-gb", "en"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_locale(value: str | None, expected: str | None) -> None:
    assert normalize_locale(value) == expected
