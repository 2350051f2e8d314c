"""t(key): a string that follows the user's language in the browser."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from prm_saas.i18n import MESSAGES


def t(key: str, **params: Any) -> rx.Var[str]:
    """The UI text for ``key``, switching with AppState.lang without a round trip."""
    zh, en = MESSAGES.get(key, (key, key))
    if params:
        zh, en = zh.format(**params), en.format(**params)
    return rx.cond(AppState.lang == "en", en, zh)


def t_var(prefix: str, value: Any, keys: list[str]) -> rx.Component | rx.Var:
    """Translate an enum value held in a Var (e.g. a role): ``prefix.value``."""
    return rx.match(value, *[(k, t(f"{prefix}.{k}")) for k in keys], value)
