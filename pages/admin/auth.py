"""Staff sign-in (password or SSO), password reset, accepting an invitation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import reflex as rx

from components.app_state import AppState, safe_next
from components.forms import (
    FormMixin,
    field,
    form_error,
    form_str,
    new_password_fields,
    sign_in_form,
    submit_button,
)
from components.i18n import t
from components.layout import centered_card, gate, language_switch
from components.routing import page
from pages.patient.auth import ResetMixin, apply_reset, reset_form, send_reset_code, start_reset
from prm_saas.accounts.models import PrincipalKind
from prm_saas.accounts.staff import accept_invitation, view_invitation
from prm_saas.i18n import MESSAGES
from prm_saas.organization.services import sso_available
from tenants.db import tenant_session
from tenants.errors import DomainError


def staff_shell(*children: rx.Component) -> rx.Component:
    """A centered card with the tenant's brand, for the signed-out staff pages."""
    return gate(
        rx.vstack(
            rx.hstack(rx.spacer(), language_switch(), width="100%", padding="12px 16px"),
            centered_card(
                rx.hstack(
                    rx.box(
                        width="10px",
                        height="24px",
                        border_radius="3px",
                        background=AppState.tenant_color,
                    ),
                    rx.heading(AppState.tenant_name, size="4", id="tenant-name"),
                    align="center",
                ),
                *children,
            ),
            width="100%",
        )
    )


class StaffLoginState(FormMixin, AppState):
    """The staff sign-in form."""

    sso: bool = False
    sso_href: str = ""

    @rx.event
    def load(self) -> Any:
        """Show the tenant, offer SSO when configured, show an SSO error if one came back."""
        self._clear()
        redirect = self._load(None)
        if self.page_status != "ok" or not self.tenant_slug:
            return redirect
        with tenant_session(self._tenant().id) as s:
            self.sso = sso_available(session=s)
        params = self.router.url.query_parameters
        nxt = safe_next(params.get("next", ""), self.base_path, f"{self.base_path}/admin")
        self.sso_href = f"/api/sso/{self.tenant_slug}/login?next={quote(nxt, safe='')}"
        err = params.get("sso_error", "")
        if err.startswith("auth.") and err in MESSAGES:
            self.error = self.tr(err, reason="", email=params.get("email", ""))
        return redirect

    @rx.event
    def submit(self, form: dict[str, Any]) -> Any:
        """Sign in with email and password."""
        self._clear()
        return self._sign_in(PrincipalKind.STAFF, form, f"{self.base_path}/admin", self._fail)


class StaffResetState(ResetMixin, AppState):
    """Staff password reset."""

    @rx.event
    def load(self) -> Any:
        """Start at step one."""
        return start_reset(self)

    @rx.event
    def send_code(self, form: dict[str, Any]) -> None:
        """Step one: send a code."""
        send_reset_code(self, "staff", form)

    @rx.event
    def reset_password(self, form: dict[str, Any]) -> Any:
        """Step two: new password."""
        return apply_reset(self, "staff", form, f"{self.base_path}/admin/login")


class AcceptInviteState(FormMixin, AppState):
    """Setting a password from an invitation link."""

    invite_ok: bool = False
    invite_email: str = ""
    invite_name: str = ""

    def _token_param(self) -> str:
        return self.router.url.query_parameters.get("token", "")

    @rx.event
    def load(self) -> Any:
        """Check the link before showing the form."""
        self._clear()
        self.invite_ok = False
        redirect = self._load(None)
        if self.page_status != "ok" or not self.tenant_slug:
            return redirect
        try:
            with tenant_session(self._tenant().id) as s:
                inv = view_invitation(session=s, token=self._token_param())
        except DomainError as exc:
            self.error = self.tr(exc.key)
            return redirect
        self.invite_ok, self.invite_email, self.invite_name = True, inv.email, inv.name
        return redirect

    @rx.event
    def submit(self, form: dict[str, Any]) -> Any:
        """Set the password, sign in, go to the admin home."""
        self._clear()
        ip, ua = self._client()

        def accept() -> str:
            with tenant_session(self._tenant().id) as s:
                _principal, token = accept_invitation(
                    session=s,
                    token=self._token_param(),
                    name=form_str(form, "name"),
                    password=form_str(form, "password"),
                    password_confirm=form_str(form, "password_confirm"),
                    ip=ip,
                    user_agent=ua,
                )
            return token

        token = self._attempt(accept, self._fail)
        if token is None:
            return None
        self.staff_token = token
        return rx.redirect(f"{self.base_path}/admin")


@page("/admin/login", title="Staff sign-in", on_load=StaffLoginState.load)
def staff_login() -> rx.Component:
    """Staff sign-in: password, or the tenant's SSO."""
    s = StaffLoginState
    return staff_shell(
        rx.heading(t("login.staff_title"), size="6"),
        form_error(s),
        sign_in_form(s, label_key="common.email", name="email", type="email"),
        rx.cond(
            s.sso,
            rx.vstack(
                rx.text(t("login.or"), size="1", color_scheme="gray"),
                # Document navigation: the SSO route is served by the backend, not the SPA.
                rx.link(
                    rx.button(
                        rx.icon("key-round", size=16),
                        t("login.sso"),
                        variant="outline",
                        width="100%",
                        size="3",
                        type="button",
                    ),
                    href=s.sso_href,
                    id="sso-login",
                    width="100%",
                    reload_document=True,
                ),
                width="100%",
                align="center",
            ),
        ),
        rx.hstack(
            rx.link(t("login.forgot"), href=AppState.base_path + "/admin/reset"),
            rx.spacer(),
            rx.link(
                t("login.patient_link"), href=AppState.base_path + "/login", color_scheme="gray"
            ),
            width="100%",
        ),
    )


@page("/admin/reset", title="Reset password", on_load=StaffResetState.load)
def staff_reset() -> rx.Component:
    """Staff password reset."""
    return staff_shell(
        reset_form(StaffResetState, "reset.identifier_staff", AppState.base_path + "/admin/login")
    )


@page("/admin/accept", title="Accept invitation", on_load=AcceptInviteState.load)
def accept_invite() -> rx.Component:
    """Set a password from an invitation link."""
    s = AcceptInviteState
    return staff_shell(
        rx.heading(t("accept.title"), size="6"),
        form_error(s),
        rx.cond(
            s.invite_ok,
            rx.form(
                rx.vstack(
                    rx.text(s.invite_email, weight="bold", id="invite-email"),
                    field(s, "common.name", "name", default_value=s.invite_name),
                    *new_password_fields(s, "register.password"),
                    submit_button("accept.submit"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=s.submit,
                width="100%",
            ),
        ),
    )
