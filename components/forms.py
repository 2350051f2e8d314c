"""Form pieces: labelled fields with their error text, and the form-state mixin."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.i18n import t


def form_str(form: dict[str, Any], key: str) -> str:
    """A form value as a string, whatever a client sent (handlers are a public API)."""
    value = form.get(key, "") if isinstance(form, dict) else ""
    return value if isinstance(value, str) else ""


def form_checked(form: dict[str, Any], key: str) -> bool:
    """Whether a checkbox or switch named ``key`` came back on."""
    return form_str(form, key) in ("on", "true", "1")


def client_id(value: Any) -> int | None:
    """An id a client sent, or None (handlers are a public API: a bool, a float,
    a long or signed string is no id)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        return int(value.strip())
    return None


class FormMixin(rx.State, mixin=True):
    """Error and notice vars for one form page (copied into each page state)."""

    error: str = ""
    notice: str = ""
    field_errors: dict[str, str] = {}  # noqa: RUF012 - Reflex state var

    def _fail(self, message: str, fields: dict[str, str]) -> None:
        self.error = message
        self.field_errors = fields
        self.notice = ""

    def _clear(self) -> None:
        self.error = ""
        self.notice = ""
        self.field_errors = {}

    def _act(self, kind: Any, fn: Any, notice_key: str, then: Any) -> Any:
        """Run one use case from a button: on success say ``notice_key`` and return
        ``then()`` (usually a reload of the page's rows); a login redirect if the
        session expired; the error in the form otherwise."""
        self._clear()
        page: Any = self  # the page state: FormMixin + AppState
        _done, ev = page._run(kind, fn, self._fail)
        if ev is not None:
            return ev
        if not self.error:
            self.notice = page.tr(notice_key)
        return then()


def form_error(state: Any, *, where: str = "form") -> rx.Component:
    """The form-level error and notice of ``state`` (a FormMixin page state);
    ``where`` keeps element ids unique when a dialog repeats them."""
    return rx.fragment(
        rx.cond(
            state.error != "",
            rx.callout(
                state.error,
                icon="circle-alert",
                color_scheme="red",
                id=f"{where}-error",
                width="100%",
            ),
        ),
        rx.cond(
            state.notice != "",
            rx.callout(
                state.notice,
                icon="circle-check",
                color_scheme="green",
                id=f"{where}-notice",
                width="100%",
            ),
        ),
    )


def field(
    state: Any,
    label_key: str,
    name: str,
    *,
    type: str = "text",
    hint_key: str | None = None,
    default_value: Any = None,
    autocomplete: str | None = None,
    placeholder: str | None = None,
    required: bool = False,
) -> rx.Component:
    """A labelled input whose error comes from ``state.field_errors[name]``."""
    err = state.field_errors[name]
    props: dict[str, Any] = {
        "name": name,
        "id": f"f-{name}",
        "type": type,
        "width": "100%",
        "size": "3",
    }
    if default_value is not None:
        props["default_value"] = default_value
    if autocomplete:
        props["auto_complete"] = autocomplete
    if placeholder:
        props["placeholder"] = placeholder
    if required:
        props["required"] = True
    return rx.vstack(
        rx.el.label(
            t(label_key), html_for=f"f-{name}", style={"fontSize": "14px", "fontWeight": 500}
        ),
        rx.input(**props),
        rx.cond(
            err,
            rx.text(err, size="1", color_scheme="red", id=f"err-{name}"),
            rx.text(t(hint_key), size="1", color_scheme="gray") if hint_key else rx.fragment(),
        ),
        spacing="1",
        width="100%",
        align="start",
    )


def select_field(
    state: Any,
    label_key: str,
    name: str,
    options: list[tuple[str, str]],
    *,
    default_value: Any = None,
    translate_labels: bool = True,
) -> rx.Component:
    """A labelled native select; ``options`` are (value, label key) pairs
    (or (value, label) with ``translate_labels=False``)."""
    err = state.field_errors[name]
    return rx.vstack(
        rx.el.label(
            t(label_key), html_for=f"f-{name}", style={"fontSize": "14px", "fontWeight": 500}
        ),
        rx.el.select(
            *[rx.el.option(t(lbl) if translate_labels else lbl, value=v) for v, lbl in options],
            name=name,
            id=f"f-{name}",
            default_value=default_value,
            style={
                "width": "100%",
                "padding": "8px",
                "borderRadius": "6px",
                "border": "1px solid var(--gray-7)",
                "background": "var(--color-surface)",
            },
        ),
        rx.cond(err, rx.text(err, size="1", color_scheme="red", id=f"err-{name}")),
        spacing="1",
        width="100%",
        align="start",
    )


def submit_button(label_key: str, *, id: str = "submit") -> rx.Component:
    """The form's submit button (spins while the event runs)."""
    return rx.button(t(label_key), type="submit", size="3", width="100%", id=id)


def dialog_footer(submit_key: str, submit_id: str, **submit_props: Any) -> rx.Component:
    """A dialog form's last line: cancel (closes the dialog) and the submit button
    (``submit_props``: e.g. ``color_scheme="red"``)."""
    return rx.hstack(
        rx.dialog.close(
            rx.button(t("common.cancel"), variant="soft", color_scheme="gray", type="button")
        ),
        rx.button(t(submit_key), type="submit", id=submit_id, **submit_props),
        justify="end",
        width="100%",
    )


def stacked_form(on_submit: Any, *children: rx.Component, reset: bool = False) -> rx.Component:
    """A full-width form whose children stand in a column."""
    return rx.form(
        rx.vstack(*children, spacing="3", width="100%"),
        on_submit=on_submit,
        reset_on_submit=reset,
        width="100%",
    )


def sign_in_form(state: Any, *, label_key: str, name: str, type: str = "text") -> rx.Component:
    """Identifier + password + submit, as every sign-in page has it."""
    return stacked_form(
        state.submit,
        field(state, label_key, name, type=type, autocomplete="username"),
        field(
            state, "login.password", "password", type="password", autocomplete="current-password"
        ),
        submit_button("login.submit"),
    )


def form_dialog(
    state: Any,
    *,
    open_var: Any,
    on_open_change: Any,
    on_submit: Any,
    trigger: rx.Component | None,
    title: Any,
    fields: list[rx.Component],
    submit_key: str,
    submit_id: str,
    description: str | None = None,
    max_width: str = "480px",
    submit_props: dict[str, Any] | None = None,
) -> rx.Component:
    """A dialog holding one form: its own error callout, fields, cancel and submit.
    ``trigger`` None: opened by the page (``open_var``); ``title`` an i18n key or a
    component; ``submit_props`` go to the submit button (e.g. a red color)."""
    return rx.dialog.root(
        *([rx.dialog.trigger(trigger)] if trigger is not None else []),
        rx.dialog.content(
            rx.dialog.title(t(title) if isinstance(title, str) else title),
            rx.dialog.description(t(description), size="2") if description else rx.fragment(),
            stacked_form(
                on_submit,
                form_error(state, where="dialog"),
                *fields,
                dialog_footer(submit_key, submit_id, **(submit_props or {})),
            ),
            max_width=max_width,
        ),
        open=open_var,
        on_open_change=on_open_change,
    )


def new_password_fields(state: Any, label_key: str = "register.password") -> list[rx.Component]:
    """Password and confirmation, with the policy as a hint."""
    return [
        field(
            state,
            label_key,
            "password",
            type="password",
            hint_key="register.password_hint",
            autocomplete="new-password",
        ),
        field(
            state,
            "register.password_confirm",
            "password_confirm",
            type="password",
            autocomplete="new-password",
        ),
    ]
