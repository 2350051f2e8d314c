"""Platform operator sign-in."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error, sign_in_form
from components.i18n import t
from components.layout import centered_card, gate, language_switch
from components.routing import page
from prm_saas.accounts.models import PrincipalKind


class OperatorLoginState(FormMixin, AppState):
    """The operator sign-in form (only on the platform's own host)."""

    @rx.event
    def load(self) -> Any:
        """Refuse on tenant hosts (404)."""
        self._clear()
        self._load(PrincipalKind.OPERATOR)
        if self.page_status == "not_found":
            return None
        self.page_status = "ok"
        return None

    @rx.event
    def submit(self, form: dict[str, Any]) -> Any:
        """Sign in."""
        self._clear()
        return self._sign_in(PrincipalKind.OPERATOR, form, "/platform", self._fail)


@page("/platform/login", title="Platform sign-in", on_load=OperatorLoginState.load, tenant=False)
def operator_login() -> rx.Component:
    """Operator sign-in."""
    s = OperatorLoginState
    return gate(
        rx.vstack(
            rx.hstack(rx.spacer(), language_switch(), width="100%", padding="12px 16px"),
            centered_card(
                rx.heading(t("login.operator_title"), size="6"),
                form_error(s),
                sign_in_form(s, label_key="common.email", name="email", type="email"),
                rx.link(t("signup_ui.link"), href="/signup", id="signup-link", size="2"),
            ),
            width="100%",
        )
    )
