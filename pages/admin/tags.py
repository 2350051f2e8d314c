"""Tags (标签) and tag rules for admins with TAGS_MANAGE: the tag list (name, color,
kind, holders), create / edit / delete, the rule of an automatic tag built from
the condition registry with a preview (count and sample) before saving, the
"matches nothing" confirmation, run now, and a tag's history.

Every check lives in prm_saas.tags (services, overview); handlers are a public
API and only turn form fields into service calls.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.admin_ui import confirm_action, data_table, list_or_empty, page_header
from components.app_state import AppState
from components.conditions import ConditionsMixin, condition_builder, refs_dict
from components.forms import (
    FormMixin,
    client_id,
    field,
    form_dialog,
    form_error,
    form_str,
    select_field,
)
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import local_time
from prm_saas.tags import overview
from prm_saas.tags import services as tags
from prm_saas.tags.models import TagKind
from prm_saas.tags.services import RuleMatchesNothing
from tenants.types import utcnow

KINDS = [(TagKind.MANUAL.value, "mkt.tags.kind.manual"), (TagKind.AUTO.value, "mkt.tags.kind.auto")]
_EMPTY = "empty"  # a rule save refused because nobody matches


def history_dicts(lines: list[overview.HistoryLine], tz: str) -> list[dict[str, str]]:
    """Tag history lines as the pages show them."""
    return [
        {
            "id": str(h.id),
            "at": local_time(h.at, tz),
            "patient": h.patient_name,
            "pid": str(h.patient_id),
            "tag": h.tag_name,
            "action": h.action,
            "by": h.staff_name,
            "rule": str(h.rule_id or ""),
            "reason": h.reason,
        }
        for h in lines
    ]


class TagsState(ConditionsMixin, FormMixin, AppState):
    """The tag list, the tag editor, the rule editor and a tag's history."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    # the tag editor
    edit_open: bool = False
    edit_id: str = ""
    tg: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    form_key: int = 0
    # the rule editor (of one auto tag)
    rule_tag_id: str = ""
    rule_tag_name: str = ""
    rule_id: str = ""
    rule_active: bool = True
    preview_count: str = ""
    preview_sample: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    confirm_empty: bool = False
    # a tag's history
    history_tag: str = ""
    history: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    def _tz(self) -> str:
        return self._tenant().timezone

    def _refresh(self) -> Any:
        tz = self._tz()

        def read(session: Any, actor: Any) -> list[dict[str, str]]:
            self.refs = refs_dict(overview.condition_choices(session=session, actor=actor))
            return [
                {
                    "id": str(x.id),
                    "name": x.name,
                    "color": x.color,
                    "description": x.description,
                    "kind": x.kind,
                    "holders": str(x.holders),
                    "rule_id": str(x.rule_id or ""),
                    "rule_active": "1" if x.rule_active else "",
                    "conditions": x.rule_conditions,
                    "evaluated": local_time(x.rule_evaluated_at, tz),
                }
                for x in overview.tag_summaries(session=session, actor=actor)
            ]

        result, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if result is not None:
            self.rows = result
        return ev

    def _row(self, tag_id: str) -> dict[str, str]:
        return next((r for r in self.rows if r["id"] == tag_id), {})

    @rx.event
    def load(self) -> Any:
        """Admins with TAGS_MANAGE only; others get the 404 page."""
        self._clear()
        self.edit_open = False
        self._close_rule()
        self.history_tag, self.history = "", []
        redirect = self._load(PrincipalKind.STAFF, Permission.TAGS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    # --- the tag editor -------------------------------------------------------------------

    @rx.event
    def new_tag(self) -> None:
        """An empty tag editor."""
        self._clear()
        self.edit_id = ""
        self.tg = {"name": "", "color": "#0f766e", "description": "", "kind": "manual"}
        self.form_key += 1
        self.edit_open = True

    @rx.event
    def edit_tag(self, tag_id: str) -> None:
        """The editor on one tag."""
        self._clear()
        row = self._row(tag_id if isinstance(tag_id, str) else "")
        if not row:
            return
        self.edit_id = row["id"]
        self.tg = {k: row[k] for k in ("name", "color", "description", "kind")}
        self.form_key += 1
        self.edit_open = True

    @rx.event
    def set_edit_open(self, value: bool) -> None:
        """Close (or open) the tag editor."""
        self.edit_open = bool(value)
        if not self.edit_open:
            self.field_errors = {}

    @rx.event
    def save_tag(self, form: dict[str, Any]) -> Any:
        """Create or change a tag."""
        self._clear()
        data = tags.TagInput(
            name=form_str(form, "name"),
            color=form_str(form, "color"),
            description=form_str(form, "description"),
            kind=form_str(form, "kind"),
        )
        tid = client_id(self.edit_id)

        def save(session: Any, actor: Any) -> int:
            if tid is None:
                tag = tags.create_tag(session=session, actor=actor, data=data)
            else:
                tag = tags.update_tag(session=session, actor=actor, tag_id=tid, data=data)
            return int(tag.id or 0)

        done, ev = self._run(PrincipalKind.STAFF, save, self._fail)
        if ev is not None or done is None:
            return ev
        self.edit_open = False
        self.notice = self.tr("common.saved")
        return self._refresh()

    @rx.event
    def delete_tag(self, tag_id: str) -> Any:
        """Delete a tag nobody ever had."""
        tid = client_id(tag_id)
        if tid is None:
            return None

        def delete(session: Any, actor: Any) -> bool:
            tags.delete_tag(session=session, actor=actor, tag_id=tid)
            return True

        return self._act(PrincipalKind.STAFF, delete, "mkt.tags.deleted", self._refresh)

    # --- the rule editor ------------------------------------------------------------------

    def _close_rule(self) -> None:
        self.rule_tag_id = self.rule_tag_name = self.rule_id = ""
        self.rule_active = True
        self.conds = []
        self._clear_preview()

    def _clear_preview(self) -> None:
        self.preview_count = ""
        self.preview_sample = []
        self.confirm_empty = False

    @rx.event
    def open_rule(self, tag_id: str) -> None:
        """Edit the rule of an automatic tag (a new one if it has none)."""
        self._clear()
        row = self._row(tag_id if isinstance(tag_id, str) else "")
        if not row:
            return
        self._clear_preview()
        self.rule_tag_id, self.rule_tag_name = row["id"], row["name"]
        self.rule_id = row["rule_id"]
        self.rule_active = row["rule_active"] == "1" or not row["rule_id"]
        self._set_conditions(row["conditions"])

    @rx.event
    def close_rule(self) -> None:
        """Put the rule editor away."""
        self._clear()
        self._close_rule()

    @rx.event
    def set_rule_active(self, value: bool) -> None:
        """Switch the rule on or off (saved with the rule)."""
        self.rule_active = bool(value)

    def _after_condition_change(self) -> Any:
        self._clear_preview()  # the count shown belonged to the old conditions
        return None

    @rx.event
    def preview(self) -> Any:
        """Count and sample the patients the conditions match now."""
        self._clear()
        self._clear_preview()
        conditions = self._conditions()
        result, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: tags.preview_rule(session=s, actor=p, conditions=conditions),
            self._fail,
        )
        if result is None:
            return ev
        self.preview_count = str(result.count)
        self.preview_sample = [{"id": str(i), "name": n} for i, n in result.sample]
        if result.count == 0:
            self.confirm_empty = True
            self.error = self.tr("tags.rule.matches_nothing")
        return ev

    @rx.event
    def save_rule(self, confirm: bool = False) -> Any:
        """Save the rule; one that matches nobody asks for a confirmation first."""
        self._clear()
        conditions = self._conditions()
        tag_id, rule_id = client_id(self.rule_tag_id), client_id(self.rule_id)
        active, confirmed = self.rule_active, confirm is True
        if tag_id is None:
            return None

        def save(session: Any, actor: Any) -> Any:
            try:
                if rule_id is None:
                    rule = tags.create_rule(
                        session=session,
                        actor=actor,
                        tag_id=tag_id,
                        conditions=conditions,
                        active=active,
                        confirm_empty=confirmed,
                    )
                else:
                    rule = tags.update_rule(
                        session=session,
                        actor=actor,
                        rule_id=rule_id,
                        conditions=conditions,
                        active=active,
                        confirm_empty=confirmed,
                    )
            except RuleMatchesNothing:
                return _EMPTY  # refused before anything was written
            return rule.matched

        done, ev = self._run(PrincipalKind.STAFF, save, self._fail)
        if ev is not None or done is None:
            return ev
        if done == _EMPTY:
            self.preview_count = "0"
            self.preview_sample = []
            self.confirm_empty = True
            self.error = self.tr("tags.rule.matches_nothing")
            return None
        self._close_rule()
        self.notice = self.tr("mkt.tags.rule_saved", matched=done)
        return self._refresh()

    @rx.event
    def run_rule(self, rule_id: str) -> Any:
        """Evaluate a rule now."""
        self._clear()
        rid = client_id(rule_id)
        if rid is None:
            return None
        now = utcnow()
        run, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: overview.run_rule(session=s, actor=p, rule_id=rid, now=now),
            self._fail,
        )
        if run is not None:
            self.notice = self.tr(
                "mkt.tags.ran", added=run.added, removed=run.removed, matched=run.matched
            )
        return ev or self._refresh()

    # --- history --------------------------------------------------------------------------

    @rx.event
    def show_history(self, tag_id: str) -> Any:
        """The latest changes of one tag."""
        self._clear()
        tid = client_id(tag_id)
        if tid is None:
            return None
        tz = self._tz()
        lines, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: overview.named_history(session=s, actor=p, tag_id=tid),
            self._fail,
        )
        if lines is not None:
            self.history_tag = self._row(str(tid)).get("name", "")
            self.history = history_dicts(lines, tz)
        return ev

    @rx.event
    def close_history(self) -> None:
        """Put the history away."""
        self.history_tag, self.history = "", []


# --- pieces -------------------------------------------------------------------------------


def tag_chip(name: Any, color: Any, *extra: rx.Component, **props: Any) -> rx.Component:
    """A tag as a colored chip (``extra``: e.g. a remove icon)."""
    return rx.badge(
        rx.box(width="8px", height="8px", border_radius="4px", background=color),
        name,
        *extra,
        variant="surface",
        color_scheme="gray",
        **props,
    )


def _delete_button(r: Any) -> rx.Component:
    return confirm_action(
        "mkt.tags.delete",
        "mkt.tags.delete_confirm",
        TagsState.delete_tag(r["id"]),
        id="delete-tag-" + r["id"],
        confirm_id="confirm-delete-tag-" + r["id"],
    )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = TagsState
    return rx.table.row(
        rx.table.cell(tag_chip(r["name"], r["color"])),
        rx.table.cell(rx.code(r["color"])),
        rx.table.cell(t_var("mkt.tags.kind", r["kind"], ["manual", "auto"])),
        rx.table.cell(
            rx.link(
                r["holders"],
                on_click=s.show_history(r["id"]),
                cursor="pointer",
                id="holders-" + r["id"],
            )
        ),
        rx.table.cell(
            rx.cond(
                r["kind"] == "auto",
                rx.cond(
                    r["rule_id"] != "",
                    rx.hstack(
                        rx.badge(
                            rx.cond(
                                r["rule_active"] == "1",
                                t("mkt.tags.rule_on"),
                                t("mkt.tags.rule_off"),
                            ),
                            color_scheme=rx.cond(r["rule_active"] == "1", "green", "gray"),
                        ),
                        rx.text(r["evaluated"], size="1", color_scheme="gray"),
                        spacing="2",
                        align="center",
                    ),
                    rx.text(t("mkt.tags.no_rule"), size="1", color_scheme="orange"),
                ),
                rx.text("—", color_scheme="gray"),
            )
        ),
        rx.table.cell(r["description"]),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    t("mkt.tags.edit"),
                    size="1",
                    variant="soft",
                    on_click=s.edit_tag(r["id"]),
                    id="edit-tag-" + r["id"],
                ),
                rx.cond(
                    r["kind"] == "auto",
                    rx.button(
                        rx.cond(
                            r["rule_id"] != "", t("mkt.tags.edit_rule"), t("mkt.tags.new_rule")
                        ),
                        size="1",
                        variant="soft",
                        color_scheme="violet",
                        on_click=s.open_rule(r["id"]),
                        id="rule-tag-" + r["id"],
                    ),
                ),
                rx.cond(
                    r["rule_id"] != "",
                    rx.button(
                        t("mkt.tags.run_now"),
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        on_click=s.run_rule(r["rule_id"]),
                        id="run-rule-" + r["id"],
                    ),
                ),
                rx.button(
                    t("mkt.tags.history"),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.show_history(r["id"]),
                    id="history-tag-" + r["id"],
                ),
                _delete_button(r),
                spacing="2",
                wrap="wrap",
            )
        ),
        id="tag-" + r["name"],
    )


def _editor() -> rx.Component:
    s = TagsState
    g = s.tg
    return form_dialog(
        s,
        open_var=s.edit_open,
        on_open_change=s.set_edit_open,
        on_submit=s.save_tag,
        trigger=None,  # opened by the page header's "new" and each row's "edit"
        title=rx.cond(s.edit_id == "", t("mkt.tags.new"), t("mkt.tags.edit")),
        fields=[
            rx.fragment(
                field(s, "mkt.tags.name", "name", default_value=g["name"]),
                field(
                    s, "mkt.tags.color", "color", default_value=g["color"], placeholder="#RRGGBB"
                ),
                field(s, "mkt.tags.description", "description", default_value=g["description"]),
                select_field(s, "mkt.tags.kind", "kind", KINDS, default_value=g["kind"]),
                key=s.form_key,
            )
        ],
        submit_key="common.save",
        submit_id="save-tag",
    )


def _rule_editor() -> rx.Component:
    s = TagsState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(t("mkt.tags.rule_for"), s.rule_tag_name, size="4", id="rule-title"),
                rx.spacer(),
                rx.el.label(
                    rx.hstack(
                        rx.checkbox(
                            checked=s.rule_active,
                            on_change=s.set_rule_active,
                            id="rule-active",
                        ),
                        rx.text(t("mkt.tags.rule_active"), size="2"),
                        align="center",
                        spacing="2",
                    )
                ),
                rx.button(
                    t("challenges.admin.back"),
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                    on_click=s.close_rule,
                    id="close-rule",
                ),
                width="100%",
                align="center",
            ),
            rx.text(t("mkt.tags.rule_hint"), size="1", color_scheme="gray"),
            condition_builder(s),
            rx.hstack(
                rx.button(
                    rx.icon("eye", size=14),
                    t("mkt.tags.preview"),
                    variant="soft",
                    on_click=s.preview,
                    id="preview-rule",
                ),
                rx.button(t("mkt.tags.save_rule"), on_click=s.save_rule(False), id="save-rule"),
                rx.cond(
                    s.confirm_empty,
                    rx.button(
                        t("mkt.tags.matches_nothing_confirm"),
                        color_scheme="orange",
                        on_click=s.save_rule(True),
                        id="save-rule-anyway",
                    ),
                ),
                spacing="2",
            ),
            rx.cond(
                s.preview_count != "",
                rx.vstack(
                    rx.text(
                        t("mkt.tags.preview_count"),
                        rx.text.strong(s.preview_count, id="preview-count"),
                        size="2",
                    ),
                    rx.hstack(
                        rx.foreach(
                            s.preview_sample,
                            lambda x: rx.badge(x["name"], variant="soft", id="sample-" + x["id"]),
                        ),
                        wrap="wrap",
                        spacing="1",
                        id="preview-sample",
                    ),
                    spacing="1",
                    id="rule-preview",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="rule-editor",
    )


def history_table(rows: Any, id: str) -> rx.Component:
    """Tag history lines (from ``history_dicts``)."""
    return rx.cond(
        rows.length() > 0,
        data_table(
            [
                "mkt.tags.when",
                "mkt.tags.patient",
                "mkt.tags.name",
                "mkt.tags.action",
                "mkt.tags.by",
            ],
            rx.foreach(
                rows,
                lambda h: rx.table.row(
                    rx.table.cell(h["at"]),
                    rx.table.cell(
                        rx.link(
                            h["patient"],
                            href=AppState.base_path + "/admin/members?patient=" + h["pid"],
                        )
                    ),
                    rx.table.cell(h["tag"]),
                    rx.table.cell(
                        rx.badge(
                            t_var("mkt.tags.action", h["action"], ["added", "removed"]),
                            color_scheme=rx.cond(h["action"] == "added", "green", "red"),
                        )
                    ),
                    rx.table.cell(
                        rx.cond(
                            h["rule"] != "",
                            rx.text(t("mkt.tags.by_rule"), " #", h["rule"]),
                            rx.text(h["by"]),
                        ),
                        rx.cond(
                            h["reason"] != "", rx.text(h["reason"], size="1", color_scheme="gray")
                        ),
                    ),
                    id="hist-" + h["id"],
                ),
            ),
            id,
        ),
        rx.text(t("mkt.tags.no_history"), size="2", color_scheme="gray"),
    )


def _history() -> rx.Component:
    s = TagsState
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(t("mkt.tags.history"), ": ", s.history_tag, size="3"),
                rx.spacer(),
                rx.button(
                    t("challenges.admin.back"),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.close_history,
                    id="close-history",
                ),
                width="100%",
            ),
            history_table(s.history, "tag-history"),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="tag-history-card",
    )


@page("/admin/tags", title="Tags", on_load=TagsState.load)
def tags_page() -> rx.Component:
    """The tenant's tags and tag rules."""
    s = TagsState
    return admin_layout(
        rx.vstack(
            page_header(
                "mkt.tags.title", action_key="mkt.tags.new", on_click=s.new_tag, id="new-tag"
            ),
            rx.cond(~s.edit_open, form_error(s)),
            rx.cond(s.rule_tag_id != "", _rule_editor()),
            rx.cond(s.history_tag != "", _history()),
            list_or_empty(
                s.rows,
                _row,
                [
                    "mkt.tags.name",
                    "mkt.tags.color",
                    "mkt.tags.kind",
                    "mkt.tags.holders",
                    "mkt.tags.rule",
                    "mkt.tags.description",
                    "common.actions",
                ],
                id="tags-table",
                empty_key="mkt.tags.empty",
                empty_id="tags-empty",
            ),
            _editor(),
            spacing="4",
            width="100%",
        ),
        active="tags",
    )
