"""The patient's in-app inbox: newest first, unread in bold, tap to read."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error
from components.i18n import t
from components.layout import patient_layout
from components.patient_state import PatientState
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import local_time
from prm_saas.messaging.log import mark_read, my_inbox


class InboxState(FormMixin, PatientState):
    """The inbox list and which message is open."""

    items: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    open_id: str = ""

    def _fetch(self) -> Any:
        tz = self._tenant().timezone
        entries, ev = self._run(
            PrincipalKind.PATIENT, lambda s, p: my_inbox(session=s, actor=p), self._fail
        )
        if entries is not None:
            self.items = [
                {
                    "id": str(e.id),
                    "title": e.title,
                    "body": e.body,
                    "at": local_time(e.created_at, tz),
                    "read": "1" if e.read else "",
                }
                for e in entries
            ]
        return ev

    @rx.event
    def load(self) -> Any:
        """The signed-in patient's messages and the unread count."""
        self._clear()
        self.open_id = ""
        redirect = self._load(PrincipalKind.PATIENT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._fetch() or self._refresh_unread()

    @rx.event
    def open_item(self, item_id: int) -> Any:
        """Open a message (marks it read) or close the open one."""
        self._clear()
        try:
            wanted = int(item_id)
        except (TypeError, ValueError):
            self.error = self.tr("error.not_found")
            return None
        if self.open_id == str(wanted):
            self.open_id = ""
            return None
        if self.read_only:
            # A suspended tenant's data cannot change, but the patient may still
            # read what the server already listed for them (nothing else).
            if any(i["id"] == str(wanted) for i in self.items):
                self.open_id = str(wanted)
            return None

        def use_case(s: Any, p: Any) -> int:
            mark_read(session=s, actor=p, item_id=wanted)
            return wanted

        done, ev = self._run(PrincipalKind.PATIENT, use_case, self._fail)
        if ev is not None:
            return ev
        if done is None:
            return None
        self.open_id = str(done)
        self.items = [{**i, "read": "1"} if i["id"] == str(done) else i for i in self.items]
        return self._refresh_unread()

    @rx.event
    def mark_all_read(self) -> Any:
        """Mark every message read."""
        self._clear()
        count, ev = self._run(
            PrincipalKind.PATIENT, lambda s, p: mark_read(session=s, actor=p), self._fail
        )
        if ev is not None:
            return ev
        if count is not None:
            self.items = [{**i, "read": "1"} for i in self.items]
            self.notice = self.tr("inbox.all_read")
        return self._refresh_unread()


def _item(i: rx.Var[dict[str, str]]) -> rx.Component:
    s = InboxState
    unread = i["read"] != "1"
    is_open = s.open_id == i["id"]
    return rx.box(
        rx.hstack(
            rx.box(
                width="8px",
                min_width="8px",
                height="8px",
                border_radius="4px",
                margin_top="7px",
                background=rx.cond(unread, AppState.tenant_color, "transparent"),
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(
                        i["title"],
                        size="3",
                        weight=rx.cond(unread, "bold", "regular"),
                        flex="1",
                        min_width="0",
                        overflow="hidden",
                        white_space="nowrap",
                        text_overflow="ellipsis",
                        class_name="inbox-title",
                    ),
                    rx.text(i["at"], size="1", color_scheme="gray", white_space="nowrap"),
                    width="100%",
                    align="baseline",
                ),
                rx.cond(
                    is_open,
                    rx.text(
                        i["body"],
                        size="2",
                        white_space="pre-wrap",
                        id="inbox-body-" + i["id"],
                    ),
                    rx.text(
                        i["body"],
                        size="2",
                        color_scheme="gray",
                        max_width="100%",
                        overflow="hidden",
                        white_space="nowrap",
                        text_overflow="ellipsis",
                    ),
                ),
                spacing="1",
                width="100%",
                min_width="0",
            ),
            rx.icon(
                rx.cond(is_open, "chevron-up", "chevron-down"),
                size=16,
                color=rx.color("gray", 9),
                margin_top="4px",
            ),
            spacing="3",
            align="start",
            width="100%",
        ),
        on_click=s.open_item(i["id"].to(int)),
        id="inbox-" + i["id"],
        data_unread=rx.cond(unread, "1", "0"),
        padding="14px 12px",
        min_height="56px",
        cursor="pointer",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        background=rx.cond(is_open, rx.color("gray", 2), "transparent"),
        role="button",
        width="100%",
    )


@page("/inbox", title="Inbox", on_load=InboxState.load)
def inbox_page() -> rx.Component:
    """The inbox."""
    s = InboxState
    return patient_layout(
        rx.vstack(
            rx.hstack(
                rx.heading(t("inbox.title"), size="6"),
                rx.spacer(),
                rx.cond(
                    s.inbox_unread > 0,
                    rx.button(
                        rx.icon("check-check", size=16),
                        t("inbox.mark_all"),
                        variant="soft",
                        size="2",
                        on_click=s.mark_all_read,
                        id="mark-all-read",
                    ),
                ),
                width="100%",
                align="center",
            ),
            form_error(s),
            rx.cond(
                s.items.length() > 0,  # type: ignore[attr-defined]
                rx.box(
                    rx.foreach(s.items, _item),
                    width="100%",
                    border=f"1px solid {rx.color('gray', 4)}",
                    border_radius="10px",
                    overflow="hidden",
                    id="inbox-list",
                ),
                rx.center(
                    rx.vstack(
                        rx.icon("inbox", size=40, color=rx.color("gray", 8)),
                        rx.text(t("inbox.empty"), color_scheme="gray"),
                        align="center",
                        spacing="2",
                    ),
                    padding_y="64px",
                    width="100%",
                    id="inbox-empty",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        active="inbox",
    )
