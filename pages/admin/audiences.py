"""Audiences (目标人群) for admins with CAMPAIGNS_MANAGE: the saved audiences and
the builder: a tag expression (recounted as it is typed, a malformed one shows a
caret under the character where it goes wrong), attribute filters from the tag
condition registry, the live count, a sample of matching patients and the reach
per channel (opted-out patients excluded).

Every check lives in prm_saas.audiences.services; handlers are a public API and
only turn form fields into service calls.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from components.admin_ui import confirm_action, list_or_empty, page_header
from components.app_state import AppState
from components.conditions import ConditionsMixin, condition_builder, refs_dict
from components.forms import FormMixin, client_id, form_error
from components.i18n import t
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.audiences import services as audiences
from prm_saas.audiences.expr import quote
from prm_saas.display import local_time
from prm_saas.tags import overview
from prm_saas.tags import services as tags
from tenants.errors import FieldErrors

CHANNELS = ["email", "sms", "inapp"]
MAX_EXPRESSION = 1000


class AudiencesState(ConditionsMixin, FormMixin, AppState):
    """The saved audiences and the builder."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    tag_names: list[str] = []  # noqa: RUF012 - Reflex state var
    # the builder
    editing: bool = False
    edit_id: str = ""
    name: str = ""
    description: str = ""
    expression: str = ""
    # the live count
    counted: bool = False
    count: str = ""
    reach: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    sample: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    # the expression's error and where it is (the caret goes under expr_before's end)
    expr_error: str = ""
    expr_before: str = ""
    expr_at: str = ""
    expr_has_caret: bool = False

    def _tz(self) -> str:
        return self._tenant().timezone

    def _refresh(self) -> Any:
        tz = self._tz()

        def read(session: Any, actor: Any) -> list[dict[str, str]]:
            self.refs = refs_dict(overview.condition_choices(session=session, actor=actor))
            self.tag_names = [x.name for x in tags.list_tags(session=session, actor=actor)]
            return [
                {
                    "id": str(a.id),
                    "name": a.name,
                    "description": a.description,
                    "expression": a.expression,
                    "filters": str(len(json.loads(a.filters or "[]"))),
                    "updated": local_time(a.updated_at, tz),
                }
                for a in audiences.list_audiences(session=session, actor=actor)
            ]

        result, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if result is not None:
            self.rows = result
        return ev

    def _reset_builder(self) -> None:
        self.editing = False
        self.edit_id = self.name = self.description = self.expression = ""
        self.conds = []
        self._reset_count()

    def _reset_count(self) -> None:
        self.counted = False
        self.count = ""
        self.reach = {}
        self.sample = []
        self._show_expr_error(None)

    def _show_expr_error(self, exc: FieldErrors | None) -> None:
        """The expression's message and caret (from the service's ``position``)."""
        hit = exc.errors.get("expression") if exc is not None else None
        if hit is None:
            self.expr_error, self.expr_before, self.expr_at = "", "", ""
            self.expr_has_caret = False
            return
        key, params = hit
        self.expr_error = self.tr(key, **params)
        position = params.get("position")
        text = self.expression
        if isinstance(position, int) and 0 <= position <= len(text):
            self.expr_before = text[:position]
            self.expr_at = text[position : position + 1] or " "
            self.expr_has_caret = True
        else:
            self.expr_before, self.expr_at, self.expr_has_caret = "", "", False

    @rx.event
    def load(self) -> Any:
        """Admins with CAMPAIGNS_MANAGE only; others get the 404 page."""
        self._clear()
        self._reset_builder()
        redirect = self._load(PrincipalKind.STAFF, Permission.CAMPAIGNS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        ev = self._refresh()
        wanted = client_id(self.router.url.query_parameters.get("audience", ""))
        if wanted is not None:
            return ev or self._open(wanted)
        return ev

    # --- the live count -------------------------------------------------------------------

    def _recount(self) -> Any:
        self._reset_count()
        expression, filters = self.expression, self._conditions()
        if not expression.strip() and not filters:
            return None  # nothing to count yet; no error while the builder is empty
        refused: list[FieldErrors] = []

        def count(session: Any, actor: Any) -> audiences.AudiencePreview | None:
            try:
                return audiences.preview_audience(
                    session=session, actor=actor, expression=expression, filters=filters
                )
            except FieldErrors as exc:  # read-only: nothing to roll back
                refused.append(exc)
                return None

        preview, ev = self._run(PrincipalKind.STAFF, count, self._fail)
        if refused:
            exc = refused[0]
            self._show_expr_error(exc)
            self.field_errors = {
                f: self.tr(k, **p) for f, (k, p) in exc.errors.items() if f != "expression"
            }
            return ev
        self.field_errors = {}
        if preview is None:
            return ev
        self.counted = True
        self.count = str(preview.count)
        self.reach = {ch: str(preview.reachable.get(ch, 0)) for ch in CHANNELS}
        self.sample = [{"id": str(i), "name": n} for i, n in preview.sample]
        return ev

    def _after_condition_change(self) -> Any:
        return self._recount()

    @rx.event
    def set_expression(self, value: str) -> Any:
        """The expression as typed (debounced): recount."""
        self.expression = (value if isinstance(value, str) else "")[:MAX_EXPRESSION]
        return self._recount()

    @rx.event
    def add_tag(self, name: str) -> Any:
        """Append a tag to the expression (with AND when something is there)."""
        if not isinstance(name, str) or name not in self.tag_names:
            return None
        term = quote(name)
        text = self.expression.strip()
        self.expression = f"{text} AND {term}" if text else term
        return self._recount()

    @rx.event
    def set_name(self, value: str) -> None:
        """The audience's name as typed."""
        self.name = (value if isinstance(value, str) else "")[:200]

    @rx.event
    def set_description(self, value: str) -> None:
        """The audience's description as typed."""
        self.description = (value if isinstance(value, str) else "")[:400]

    # --- builder: new, open, save, delete -------------------------------------------------

    @rx.event
    def new_audience(self) -> None:
        """An empty builder."""
        self._clear()
        self._reset_builder()
        self.editing = True

    def _open(self, audience_id: int) -> Any:
        found, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: audiences.get_audience(session=s, actor=p, audience_id=audience_id),
            self._fail,
        )
        if found is None:
            return ev
        self._reset_builder()
        self.editing = True
        self.edit_id = str(found.id)
        self.name, self.description = found.name, found.description
        self.expression = found.expression
        self._set_conditions(found.filters)
        return ev or self._recount()

    @rx.event
    def open_audience(self, audience_id: str) -> Any:
        """Open a saved audience in the builder (and count it now)."""
        self._clear()
        aid = client_id(audience_id)
        return None if aid is None else self._open(aid)

    @rx.event
    def close_builder(self) -> None:
        """Put the builder away (unsaved changes are dropped)."""
        self._clear()
        self._reset_builder()

    @rx.event
    def save(self) -> Any:
        """Create or change the audience."""
        self._clear()
        aid = client_id(self.edit_id)
        name, description = self.name, self.description
        expression, filters = self.expression, self._conditions()
        refused: list[FieldErrors] = []

        def save(session: Any, actor: Any) -> int:
            try:
                if aid is None:
                    a = audiences.create_audience(
                        session=session,
                        actor=actor,
                        name=name,
                        description=description,
                        expression=expression,
                        filters=filters,
                    )
                else:
                    a = audiences.update_audience(
                        session=session,
                        actor=actor,
                        audience_id=aid,
                        name=name,
                        description=description,
                        expression=expression,
                        filters=filters,
                    )
            except FieldErrors as exc:
                refused.append(exc)
                raise
            return int(a.id or 0)

        done, ev = self._run(PrincipalKind.STAFF, save, self._fail)
        self._show_expr_error(refused[0] if refused else None)
        if ev is not None or done is None:
            return ev
        self.edit_id = str(done)
        self.notice = self.tr("common.saved")
        return self._refresh()

    @rx.event
    def delete_audience(self, audience_id: str) -> Any:
        """Delete a saved audience no campaign uses."""
        aid = client_id(audience_id)
        if aid is None:
            return None

        def delete(session: Any, actor: Any) -> bool:
            audiences.delete_audience(session=session, actor=actor, audience_id=aid)
            return True

        def then() -> Any:
            if not self.error and self.edit_id == str(aid):
                self._reset_builder()
            return self._refresh()

        return self._act(PrincipalKind.STAFF, delete, "mkt.aud.deleted", then)


# --- pieces -------------------------------------------------------------------------------


_MONO = {
    "fontFamily": "var(--code-font-family, monospace)",
    "fontSize": "14px",
    "whiteSpace": "pre",
    "margin": "0",
    "lineHeight": "20px",
}


def _caret() -> rx.Component:
    """The expression again in monospace with a caret under the wrong character."""
    s = AudiencesState
    return rx.box(
        rx.el.pre(
            s.expr_before,
            rx.el.span(
                s.expr_at,
                style={"background": "var(--red-4)", "color": "var(--red-11)"},
            ),
            style=_MONO,
        ),
        rx.el.pre(
            rx.el.span(s.expr_before, style={"visibility": "hidden"}),
            rx.el.span("^", style={"color": "var(--red-11)", "fontWeight": "bold"}),
            style=_MONO,
            id="expr-caret",
        ),
        padding="6px 8px",
        background=rx.color("gray", 2),
        border_radius="6px",
        width="100%",
        overflow_x="auto",
    )


def _expression() -> rx.Component:
    s = AudiencesState
    return rx.vstack(
        rx.el.label(
            t("mkt.aud.expression"),
            html_for="f-expression",
            style={"fontSize": "14px", "fontWeight": 500},
        ),
        rx.input(
            value=s.expression,
            on_change=s.set_expression,
            debounce_timeout=400,
            id="f-expression",
            width="100%",
            size="3",
            placeholder="高血压 AND (VIP OR 银卡会员) AND NOT 流失",
            auto_complete="off",
            style={"fontFamily": "var(--code-font-family, monospace)"},
        ),
        rx.cond(s.expr_has_caret, _caret()),
        rx.cond(
            s.expr_error != "",
            rx.text(s.expr_error, size="1", color_scheme="red", id="err-expression"),
            rx.text(t("mkt.aud.expression_hint"), size="1", color_scheme="gray"),
        ),
        rx.cond(
            s.tag_names.length() > 0,  # type: ignore[attr-defined]
            rx.hstack(
                rx.text(t("mkt.aud.tags_known"), size="1", color_scheme="gray"),
                rx.foreach(
                    s.tag_names,
                    lambda name: rx.badge(
                        name,
                        variant="outline",
                        cursor="pointer",
                        on_click=s.add_tag(name),
                        id="add-tag-" + name,
                    ),
                ),
                spacing="1",
                wrap="wrap",
                align="center",
            ),
        ),
        spacing="1",
        width="100%",
        align="start",
    )


def _count_panel() -> rx.Component:
    s = AudiencesState
    return rx.card(
        rx.vstack(
            rx.text(t("mkt.aud.matching"), size="1", color_scheme="gray"),
            rx.text(rx.cond(s.counted, s.count, "—"), size="7", weight="bold", id="aud-count"),
            rx.text(t("mkt.aud.reach"), size="1", color_scheme="gray"),
            *[
                rx.hstack(
                    rx.text(t(f"channel.{ch}"), size="2"),
                    rx.spacer(),
                    rx.text(
                        rx.cond(s.counted, s.reach[ch], "—"), weight="medium", id=f"reach-{ch}"
                    ),
                    width="100%",
                )
                for ch in CHANNELS
            ],
            rx.divider(),
            rx.text(t("mkt.aud.sample"), size="1", color_scheme="gray"),
            rx.vstack(
                rx.foreach(
                    s.sample,
                    lambda x: rx.text(x["name"], size="2", id="aud-sample-" + x["id"]),
                ),
                spacing="0",
                id="aud-sample",
            ),
            spacing="2",
            width="100%",
        ),
        width="260px",
        min_width="260px",
        id="aud-count-panel",
    )


def _builder() -> rx.Component:
    s = AudiencesState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(rx.cond(s.edit_id == "", t("mkt.aud.new"), t("mkt.aud.edit")), size="4"),
                rx.spacer(),
                rx.button(
                    t("challenges.admin.back"),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.close_builder,
                    id="close-builder",
                ),
                width="100%",
                align="center",
            ),
            rx.hstack(
                rx.vstack(
                    rx.grid(
                        rx.vstack(
                            rx.el.label(
                                t("mkt.aud.name"), html_for="f-name", style={"fontSize": "14px"}
                            ),
                            rx.input(
                                value=s.name,
                                on_change=s.set_name,
                                debounce_timeout=300,
                                id="f-name",
                                width="100%",
                            ),
                            rx.cond(
                                s.field_errors["name"],
                                rx.text(
                                    s.field_errors["name"],
                                    size="1",
                                    color_scheme="red",
                                    id="err-name",
                                ),
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        rx.vstack(
                            rx.el.label(
                                t("mkt.aud.description"),
                                html_for="f-description",
                                style={"fontSize": "14px"},
                            ),
                            rx.input(
                                value=s.description,
                                on_change=s.set_description,
                                debounce_timeout=300,
                                id="f-description",
                                width="100%",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    _expression(),
                    rx.text(t("mkt.aud.filters"), size="2", weight="medium"),
                    condition_builder(s),
                    rx.hstack(
                        rx.button(t("common.save"), on_click=s.save, id="save-audience"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                _count_panel(),
                spacing="4",
                align="start",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="audience-builder",
    )


def _delete_button(r: Any) -> rx.Component:
    s = AudiencesState
    return confirm_action(
        "mkt.aud.delete",
        "mkt.aud.delete_confirm",
        s.delete_audience(r["id"]),
        id="delete-audience-" + r["id"],
        confirm_id="confirm-delete-audience-" + r["id"],
    )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = AudiencesState
    return rx.table.row(
        rx.table.cell(
            rx.link(
                r["name"],
                on_click=s.open_audience(r["id"]),
                cursor="pointer",
                id="open-audience-" + r["id"],
            )
        ),
        rx.table.cell(rx.code(r["expression"])),
        rx.table.cell(r["filters"]),
        rx.table.cell(r["description"]),
        rx.table.cell(r["updated"]),
        rx.table.cell(_delete_button(r)),
        id="audience-" + r["name"],
    )


@page("/admin/audiences", title="Audiences", on_load=AudiencesState.load)
def audiences_page() -> rx.Component:
    """The tenant's saved audiences and the audience builder."""
    s = AudiencesState
    return admin_layout(
        rx.vstack(
            page_header(
                "mkt.aud.title",
                action_key="mkt.aud.new",
                on_click=s.new_audience,
                id="new-audience",
            ),
            form_error(s),
            rx.cond(s.editing, _builder()),
            list_or_empty(
                s.rows,
                _row,
                [
                    "mkt.aud.name",
                    "mkt.aud.expression",
                    "mkt.aud.filters",
                    "mkt.aud.description",
                    "mkt.aud.updated",
                    "common.actions",
                ],
                id="audiences-table",
                empty_key="mkt.aud.empty",
                empty_id="audiences-empty",
            ),
            spacing="4",
            width="100%",
        ),
        active="audiences",
    )
