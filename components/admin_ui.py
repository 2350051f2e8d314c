"""Shapes the admin pages repeat: the page title with its "new" button, a table of
translated column headers, a list that says so when it is empty, and a button that
asks before it does something that cannot be undone.

Element ids and texts are the caller's: the browser tests select by them.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.i18n import t


def add_button(label_key: str, on_click: Any, id: str) -> rx.Component:
    """The "+ new …" button that opens an empty editor."""
    return rx.button(rx.icon("plus", size=16), t(label_key), on_click=on_click, id=id)


def page_header(title_key: str, *, action_key: str, on_click: Any, id: str) -> rx.Component:
    """The page title on the left and its "+ new …" button on the right."""
    return rx.hstack(
        rx.heading(t(title_key), size="6"),
        rx.spacer(),
        add_button(action_key, on_click, id),
        width="100%",
        align="center",
    )


def data_table(
    headers: list[str],
    body: rx.Component,
    id: str,
    *,
    size: str | None = "1",
    width: str | None = "100%",
) -> rx.Component:
    """A full-width table: ``headers`` are i18n keys, ``body`` its rows
    (usually an ``rx.foreach``); ``size=None`` keeps the theme's row size,
    ``width=None`` lets the table be as wide as its cells."""
    props: dict[str, Any] = {"id": id}
    if width is not None:
        props["width"] = width
    if size is not None:
        props["size"] = size
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(h)) for h in headers])),
        rx.table.body(body),
        **props,
    )


def list_or_empty(
    rows: Any,
    row: Any,
    headers: list[str],
    *,
    id: str,
    empty_key: str,
    empty_id: str,
    size: str | None = "1",
) -> rx.Component:
    """The table of ``rows`` (a list state var, each drawn by ``row``), or a grey
    line saying there are none."""
    return rx.cond(
        rows.length() > 0,
        data_table(headers, rx.foreach(rows, row), id, size=size),
        rx.text(t(empty_key), color_scheme="gray", id=empty_id),
    )


def confirm_action(
    label_key: str,
    confirm_key: str,
    on_click: Any,
    *,
    id: Any,
    confirm_id: Any,
) -> rx.Component:
    """A small red button that first asks ``confirm_key``; the dialog's red button
    (titled like the trigger) runs ``on_click``. ``id`` is the trigger's element id,
    ``confirm_id`` the dialog button's."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(t(label_key), size="1", variant="soft", color_scheme="red", id=id)
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(t(label_key)),
            rx.alert_dialog.description(t(confirm_key)),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button(t("common.cancel"), variant="soft", color_scheme="gray")
                ),
                rx.alert_dialog.action(
                    rx.button(t(label_key), color_scheme="red", on_click=on_click, id=confirm_id)
                ),
                justify="end",
                spacing="2",
            ),
        ),
    )
