"""Platform operator sign-in."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState, safe_next
from components.forms import FormMixin, field, form_error, form_str, submit_button
from components.i18n import t
from components.layout import centered_card, gate, language_switch
from components.routing import page
from prm_saas.accounts.auth import login_operator
from prm_saas.accounts.models import PrincipalKind
from tenants.db import platform_session


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
        if self._resolution().requested:
            return None
        ip, ua = self._client()
        with platform_session() as s:
            out = login_operator(
                session=s,
                email=form_str(form, "email"),
                password=form_str(form, "password"),
                ip=ip,
                user_agent=ua,
            )
        if out.principal is None:
            self._fail(self.tr(out.error_key, **(out.error_params or {})), {})
            return None
        self.operator_token = out.token
        nxt = self.router.url.query_parameters.get("next", "")
        target = safe_next(nxt, "", "/platform")
        return rx.redirect(target if target.startswith("/platform") else "/platform")


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
                rx.form(
                    rx.vstack(
                        field(s, "common.email", "email", type="email", autocomplete="username"),
                        field(
                            s,
                            "login.password",
                            "password",
                            type="password",
                            autocomplete="current-password",
                        ),
                        submit_button("login.submit"),
                        spacing="3",
                        width="100%",
                    ),
                    on_submit=s.submit,
                    width="100%",
                ),
            ),
            width="100%",
        )
    )
