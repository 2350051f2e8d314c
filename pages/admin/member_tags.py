"""Manual tags on the member pages: the selected member's tags as chips (a manual
one removable, a manual tag addable), their tag history, and bulk add / remove on
the members selected in the list.

Mixed into ``pages.admin.members.MembersState``; every check (FRONT_DESK, manual
tags only, this tenant's patients and tags) lives in ``prm_saas.tags.services``.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.forms import client_id
from components.i18n import t
from pages.admin.tags import history_dicts, history_table, tag_chip
from prm_saas.accounts.models import PrincipalKind
from prm_saas.tags import overview
from prm_saas.tags import services as tags
from prm_saas.tags.models import TagKind

MAX_SELECTED = 200


class MemberTagsMixin(rx.State, mixin=True):
    """The selected member's tags and the list's selection."""

    member_tags: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    member_tag_history: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    manual_tags: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    selected: list[str] = []  # noqa: RUF012 - Reflex state var
    bulk_tag: str = ""

    def _load_manual_tags(self) -> None:
        """The manual tags the pickers offer."""
        page: Any = self

        def read(session: Any, actor: Any) -> bool:
            self.manual_tags = [
                {"id": str(x.id), "name": x.name, "color": x.color}
                for x in tags.list_tags(session=session, actor=actor)
                if x.kind == TagKind.MANUAL
            ]
            return True

        page._run(PrincipalKind.STAFF, read, lambda _m, _f: None)

    def _load_member_tags(self, patient_id: int | None) -> None:
        page: Any = self
        if patient_id is None:
            self.member_tags, self.member_tag_history = [], []
            return
        tz = page._tenant().timezone

        def read(session: Any, actor: Any) -> bool:
            self.manual_tags = [
                {"id": str(x.id), "name": x.name, "color": x.color}
                for x in tags.list_tags(session=session, actor=actor)
                if x.kind == TagKind.MANUAL
            ]
            self.member_tags = [
                {
                    "id": str(x.tag_id),
                    "name": x.name,
                    "color": x.color,
                    "manual": "1" if x.kind == TagKind.MANUAL else "",
                }
                for x in tags.patient_tags(session=session, actor=actor, patient_id=patient_id)
            ]
            self.member_tag_history = history_dicts(
                overview.named_history(
                    session=session, actor=actor, patient_id=patient_id, limit=20
                ),
                tz,
            )
            return True

        page._run(PrincipalKind.STAFF, read, lambda _m, _f: None)

    def _change_tags(
        self, patient_ids: list[int], tag_id: int, add: bool, notice_key: str
    ) -> int | None:
        page: Any = self
        fn = tags.add_tags if add else tags.remove_tags
        page._clear()
        done, ev = page._run(
            PrincipalKind.STAFF,
            lambda s, p: fn(session=s, actor=p, patient_ids=patient_ids, tag_ids=[tag_id]),
            page._fail,
        )
        if done is not None:
            page.notice = page.tr(notice_key, count=done)
        return ev

    def _change_member_tag(self, tag_id: Any, add: bool, notice_key: str) -> Any:
        page: Any = self
        pid, tid = client_id(page.detail.get("id", "")), client_id(tag_id)
        if pid is None or tid is None:
            return None
        ev = self._change_tags([pid], tid, add, notice_key)
        self._load_member_tags(pid)
        return ev

    @rx.event
    def add_member_tag(self, tag_id: str) -> Any:
        """Give the selected member a manual tag."""
        return self._change_member_tag(tag_id, True, "mkt.members.tag_added")

    @rx.event
    def remove_member_tag(self, tag_id: str) -> Any:
        """Take a manual tag off the selected member."""
        return self._change_member_tag(tag_id, False, "mkt.members.tag_removed")

    @rx.event
    def toggle_selected(self, patient_id: str, checked: bool) -> None:
        """Tick or untick a member in the list."""
        if client_id(patient_id) is None:
            return
        rest = [x for x in self.selected if x != patient_id]
        self.selected = [*rest, patient_id][:MAX_SELECTED] if checked is True else rest

    @rx.event
    def set_bulk_tag(self, tag_id: str) -> None:
        """The tag the bulk buttons apply."""
        self.bulk_tag = tag_id if isinstance(tag_id, str) else ""

    @rx.event
    def bulk(self, add: bool) -> Any:
        """Add the chosen tag to, or remove it from, every ticked member."""
        page: Any = self
        ids = [i for i in (client_id(x) for x in self.selected) if i is not None]
        tid = client_id(self.bulk_tag)
        if tid is None:
            page._clear()
            page.error = page.tr("tags.field.tags_required")
            return None
        if not ids:
            page._clear()
            page.error = page.tr("tags.field.patients_required")
            return None
        notice = "mkt.members.tag_added" if add is True else "mkt.members.tag_removed"
        ev = self._change_tags(ids, tid, add is True, notice)
        if not page.error:
            self.selected = []
        current = client_id(page.detail.get("id", "")) if page.has_detail else None
        if current is not None:
            self._load_member_tags(current)
        return ev


# --- pieces -------------------------------------------------------------------------------

_SELECT_STYLE = {"padding": "4px", "borderRadius": "6px", "border": "1px solid var(--gray-7)"}


def member_tags_panel(state: Any) -> rx.Component:
    """The selected member's tag chips, the manual tag picker and the tag history."""
    return rx.vstack(
        rx.hstack(
            rx.text(t("mkt.members.tags"), size="2", weight="medium"),
            rx.foreach(
                state.member_tags,
                lambda x: tag_chip(
                    x["name"],
                    x["color"],
                    rx.cond(
                        x["manual"] == "1",
                        rx.icon(
                            "x",
                            size=12,
                            cursor="pointer",
                            on_click=state.remove_member_tag(x["id"]),
                            id="untag-" + x["name"],
                        ),
                    ),
                    id="chip-" + x["name"],
                ),
            ),
            rx.cond(
                state.member_tags.length() == 0,
                rx.text(t("mkt.members.no_tags"), size="1", color_scheme="gray"),
            ),
            rx.el.select(
                rx.el.option(t("mkt.members.add_tag"), value=""),
                rx.foreach(state.manual_tags, lambda x: rx.el.option(x["name"], value=x["id"])),
                value="",
                on_change=state.add_member_tag,
                id="add-member-tag",
                style=_SELECT_STYLE,
            ),
            spacing="2",
            align="center",
            wrap="wrap",
            id="member-tags",
        ),
        rx.cond(
            state.member_tag_history.length() > 0,
            rx.box(
                rx.text(t("mkt.members.tag_history"), size="1", color_scheme="gray"),
                history_table(state.member_tag_history, "member-tag-history"),
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
    )


def select_cell(state: Any, r: Any) -> rx.Component:
    """The list row's checkbox."""
    return rx.table.cell(
        rx.checkbox(
            checked=state.selected.contains(r["id"]),
            on_change=lambda v: state.toggle_selected(r["id"], v),
            id="select-" + r["id"],
        )
    )


def bulk_bar(state: Any) -> rx.Component:
    """Bulk manual tagging of the ticked members."""
    return rx.hstack(
        rx.icon("tags", size=16),
        rx.text(t("mkt.members.bulk"), size="2", weight="medium"),
        rx.el.select(
            rx.el.option("—", value=""),
            rx.foreach(state.manual_tags, lambda x: rx.el.option(x["name"], value=x["id"])),
            value=state.bulk_tag,
            on_change=state.set_bulk_tag,
            id="bulk-tag",
            style=_SELECT_STYLE,
        ),
        rx.button(t("mkt.members.bulk_add"), size="1", on_click=state.bulk(True), id="bulk-add"),
        rx.button(
            t("mkt.members.bulk_remove"),
            size="1",
            variant="soft",
            color_scheme="red",
            on_click=state.bulk(False),
            id="bulk-remove",
        ),
        rx.text(
            state.selected.length(),
            " ✓",
            size="1",
            color_scheme="gray",
            id="bulk-selected",
        ),
        spacing="2",
        align="center",
    )
