"""The condition builder of tag rules and audience filters: one row per condition,
its parameters' form generated from the registry (``prm_saas.tags.conditions``)
when the app is compiled, the choices of ``ref`` parameters (packages, levels,
challenges) read per tenant at run time.

A page state mixes ``ConditionsMixin`` in; its conditions are plain strings as
typed (``conds``: one dict per condition, ``i`` its position, ``key`` its kind,
one entry per parameter name) and go to the services as
``[{"key", "params"}]``; the services check them and name bad fields
``conditions.<i>.<param>``, which the builder shows under each input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import reflex as rx

from components.app_state import AppState
from components.i18n import t
from prm_saas.tags.conditions import REGISTRY, ConditionSpec, Param
from prm_saas.tags.overview import RefChoice, ref_name

MAX_CONDS = 10
# Choice parameters whose values already have labels in the catalog.
CHOICE_LABEL: dict[str, Callable[[str], str]] = {
    "sex": lambda v: f"sex.{v}",
    "status": lambda v: f"booking.status.{v}",
}
ALL_PARAMS = sorted({p.name for spec in REGISTRY.values() for p in spec.params})


def _blank(i: int, key: str) -> dict[str, str]:
    row = {name: "" for name in ALL_PARAMS}
    row.update(i=str(i), key=key)
    return row


def refs_dict(choices: dict[str, list[RefChoice]]) -> dict[str, list[dict[str, str]]]:
    """Ref choices as the browser gets them."""
    return {
        name: [{"id": str(c.id), "name": c.name_zh, "name_en": c.name_en} for c in rows]
        for name, rows in choices.items()
    }


class ConditionsMixin(rx.State, mixin=True):
    """The conditions being edited (mixed into a page state with FormMixin)."""

    conds: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    refs: dict[str, list[dict[str, str]]] = {}  # noqa: RUF012 - Reflex state var

    def _conditions(self) -> list[dict[str, Any]]:
        """The conditions for the services (values as typed; the services check)."""
        out = []
        for c in self.conds:
            spec = REGISTRY.get(c.get("key", ""))
            if spec is None:
                out.append({"key": c.get("key", ""), "params": {}})
                continue
            params = {p.name: c[p.name] for p in spec.params if c.get(p.name, "") != ""}
            out.append({"key": spec.key, "params": params})
        return out

    def _set_conditions(self, items: Any) -> None:
        """Show stored conditions (a JSON string or a list) in the builder."""
        if isinstance(items, str):
            try:
                items = json.loads(items or "[]")
            except ValueError:
                items = []
        rows = []
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict) or item.get("key") not in REGISTRY:
                continue
            row = _blank(i, str(item["key"]))
            params = item.get("params") or {}
            for name, value in params.items() if isinstance(params, dict) else []:
                if name in row:
                    row[name] = str(value)
            rows.append(row)
        self.conds = rows

    def _reindex(self) -> None:
        self.conds = [{**c, "i": str(i)} for i, c in enumerate(self.conds)]
        setattr(self, "field_errors", {})  # FormMixin's: positions moved  # noqa: B010

    def _after_condition_change(self) -> Any:
        """What to do once a condition changed (the audience page recounts)."""
        return None

    def _index(self, i: Any) -> int | None:
        try:
            n = int(i)
        except (TypeError, ValueError):
            return None
        return n if 0 <= n < len(self.conds) else None

    @rx.event
    def add_cond(self, key: str) -> Any:
        """Add a condition of kind ``key``."""
        if not isinstance(key, str) or key not in REGISTRY or len(self.conds) >= MAX_CONDS:
            return None
        self.conds = [*self.conds, _blank(len(self.conds), key)]
        return self._after_condition_change()

    @rx.event
    def remove_cond(self, i: str) -> Any:
        """Remove the condition at position ``i``."""
        n = self._index(i)
        if n is None:
            return None
        self.conds = [c for j, c in enumerate(self.conds) if j != n]
        self._reindex()
        return self._after_condition_change()

    @rx.event
    def set_cond_key(self, i: str, key: str) -> Any:
        """Change a condition's kind (its parameters start empty)."""
        n = self._index(i)
        if n is None or not isinstance(key, str) or key not in REGISTRY:
            return None
        rows = list(self.conds)
        rows[n] = _blank(n, key)
        self.conds = rows
        return self._after_condition_change()

    @rx.event
    def set_param(self, i: str, name: str, value: str) -> Any:
        """A parameter as typed."""
        n = self._index(i)
        if n is None or name not in ALL_PARAMS:
            return None
        rows = list(self.conds)
        rows[n] = {**rows[n], name: value if isinstance(value, str) else ""}
        self.conds = rows
        return self._after_condition_change()


# --- the builder ----------------------------------------------------------------------


_SELECT_STYLE = {
    "padding": "6px",
    "borderRadius": "6px",
    "border": "1px solid var(--gray-7)",
    "background": "var(--color-surface)",
}


def _en(zh: Any, en: Any) -> Any:
    return rx.cond(AppState.lang == "en", en, zh)


def _param_input(state: Any, c: Any, p: Param) -> rx.Component:
    name = p.name
    err = state.field_errors["conditions." + c["i"] + "." + name]
    id_ = "cond-" + c["i"] + "-" + name
    on_change = lambda v: state.set_param(c["i"], name, v)  # noqa: E731
    if p.kind == "choice":
        label = CHOICE_LABEL.get(name)
        control: rx.Component = rx.el.select(
            rx.el.option(t("mkt.cond.choose"), value=""),
            *[rx.el.option(t(label(v)) if label else v, value=v) for v in p.choices],
            value=c[name],
            on_change=on_change,
            id=id_,
            style=_SELECT_STYLE,
        )
    elif p.kind == "ref":
        control = rx.el.select(
            rx.el.option(t("mkt.cond.choose" if p.required else "mkt.cond.any"), value=""),
            rx.foreach(
                state.refs[ref_name(p.ref)],
                lambda r: rx.el.option(_en(r["name"], r["name_en"]), value=r["id"]),
            ),
            value=c[name],
            on_change=on_change,
            id=id_,
            style=_SELECT_STYLE,
        )
    else:
        control = rx.input(
            value=c[name],
            on_change=on_change,
            debounce_timeout=300,
            id=id_,
            width="110px",
            placeholder=f"{p.lo}–{p.hi}",
        )
    return rx.vstack(
        rx.text(t(f"mkt.param.{name}"), size="1", color_scheme="gray"),
        control,
        rx.cond(err, rx.text(err, size="1", color_scheme="red", id="err-" + id_)),
        spacing="1",
        align="start",
    )


def _params_form(state: Any, c: Any, spec: ConditionSpec) -> rx.Component:
    return rx.hstack(
        *[_param_input(state, c, p) for p in spec.params], spacing="3", align="start", wrap="wrap"
    )


def _key_select(on_change: Any, value: Any, id_: Any, first_key: str) -> rx.Component:
    return rx.el.select(
        *([rx.el.option(t(first_key), value="")] if first_key else []),
        *[rx.el.option(t(spec.label_key), value=spec.key) for spec in REGISTRY.values()],
        value=value,
        on_change=on_change,
        id=id_,
        style=_SELECT_STYLE,
    )


def _cond_row(state: Any, c: Any) -> rx.Component:
    key_err = state.field_errors["conditions." + c["i"] + ".key"]
    return rx.hstack(
        rx.vstack(
            rx.text(t("mkt.cond.kind"), size="1", color_scheme="gray"),
            _key_select(
                lambda v: state.set_cond_key(c["i"], v), c["key"], "cond-" + c["i"] + "-key", ""
            ),
            rx.cond(key_err, rx.text(key_err, size="1", color_scheme="red")),
            spacing="1",
        ),
        rx.match(
            c["key"],
            *[(spec.key, _params_form(state, c, spec)) for spec in REGISTRY.values()],
            rx.fragment(),
        ),
        rx.spacer(),
        rx.icon_button(
            rx.icon("x", size=14),
            variant="soft",
            color_scheme="gray",
            size="1",
            on_click=state.remove_cond(c["i"]),
            id="cond-" + c["i"] + "-remove",
            title="remove",
        ),
        width="100%",
        align="start",
        padding="8px",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="6px",
        id="cond-" + c["i"],
    )


def condition_builder(state: Any) -> rx.Component:
    """The conditions of ``state`` (a ConditionsMixin + FormMixin page state)."""
    err = state.field_errors["conditions"]
    return rx.vstack(
        rx.foreach(state.conds, lambda c: _cond_row(state, c)),
        rx.hstack(
            rx.icon("plus", size=14),
            _key_select(state.add_cond, "", "add-condition", "mkt.cond.add"),
            align="center",
            spacing="2",
        ),
        rx.cond(err, rx.text(err, size="1", color_scheme="red", id="err-conditions")),
        spacing="2",
        width="100%",
    )
