"""The audit table shared by the tenant and platform audit pages."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.forms import FormMixin
from components.i18n import t
from prm_saas.audit.services import PAGE_SIZE, AuditPage
from prm_saas.display import local_time


class AuditTableMixin(FormMixin, mixin=True):
    """Rows, paging and the action filter; the page state supplies ``_fetch``."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    total: int = 0
    page_no: int = 0
    action_filter: str = ""

    def _fetch(self) -> Any:
        raise NotImplementedError

    def _show_page(self, result: AuditPage, tz: str) -> None:
        self.total = result.total
        self.rows = [
            {
                "at": local_time(r.at, tz, seconds=True),
                "actor": r.actor_label or r.actor_kind,
                "action": r.action,
                "target": r.target,
                "ip": r.ip,
                "details": "" if r.details == "{}" else r.details,
            }
            for r in result.rows
        ]

    @rx.event
    def filter(self, form: dict[str, Any]) -> Any:
        """Filter by event-name prefix."""
        value = form.get("action", "") if isinstance(form, dict) else ""
        self.action_filter = value.strip()[:60] if isinstance(value, str) else ""
        self.page_no = 0
        return self._fetch()

    @rx.event
    def next_page(self) -> Any:
        """Older events."""
        if (self.page_no + 1) * PAGE_SIZE < self.total:
            self.page_no += 1
        return self._fetch()

    @rx.event
    def prev_page(self) -> Any:
        """Newer events."""
        self.page_no = max(0, self.page_no - 1)
        return self._fetch()


def audit_table(state: Any) -> rx.Component:
    """Filter box, table and pager."""
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.input(
                    name="action", placeholder=t("audit.filter"), width="280px", id="audit-filter"
                ),
                rx.button(t("common.search"), type="submit", variant="soft"),
            ),
            on_submit=state.filter,
            reset_on_submit=False,
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(t(k))
                        for k in (
                            "audit.at",
                            "audit.actor",
                            "audit.action",
                            "audit.target",
                            "audit.ip",
                            "audit.details",
                        )
                    ]
                )
            ),
            rx.table.body(
                rx.foreach(
                    state.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(r["at"], white_space="nowrap"),
                        rx.table.cell(r["actor"]),
                        rx.table.cell(rx.code(r["action"])),
                        rx.table.cell(r["target"]),
                        rx.table.cell(r["ip"]),
                        rx.table.cell(
                            rx.text(
                                r["details"],
                                size="1",
                                color_scheme="gray",
                                max_width="360px",
                                trim="end",
                            )
                        ),
                    ),
                )
            ),
            width="100%",
            size="1",
            id="audit-table",
        ),
        rx.hstack(
            rx.button(
                t("common.prev"),
                on_click=state.prev_page,
                variant="soft",
                size="1",
                disabled=state.page_no == 0,
            ),
            rx.text(state.page_no + 1, " / ", (state.total + PAGE_SIZE - 1) // PAGE_SIZE, size="2"),
            rx.button(
                t("common.next"),
                on_click=state.next_page,
                variant="soft",
                size="1",
                disabled=(state.page_no + 1) * PAGE_SIZE >= state.total,
            ),
            align="center",
        ),
        width="100%",
        spacing="3",
    )
