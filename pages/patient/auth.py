"""Patient sign-in, registration and password reset (mobile-first)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import (
    FormMixin,
    field,
    form_error,
    form_str,
    new_password_fields,
    select_field,
    sign_in_form,
    submit_button,
)
from components.i18n import t
from components.layout import centered_card, patient_layout
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.accounts.password_reset import request_reset, reset_password
from prm_saas.accounts.patients import Registration, register_patient
from prm_saas.membership.referrals import normalize_code
from tenants.db import tenant_session


class PatientLoginState(FormMixin, AppState):
    """The member sign-in form."""

    @rx.event
    def load(self) -> Any:
        """Show the tenant; an expired session lands here with ?next=."""
        self._clear()
        return self._load(None)

    @rx.event
    def submit(self, form: dict[str, Any]) -> Any:
        """Sign in with phone-or-email and password."""
        self._clear()
        return self._sign_in(PrincipalKind.PATIENT, form, f"{self.base_path}/", self._fail)


class RegisterState(FormMixin, AppState):
    """The member registration form."""

    ref_code: str = ""  # from a shared link: /register?ref=<card number>

    @rx.event
    def load(self) -> Any:
        """Show the tenant; a shared link's ?ref= fills in the referrer's card number."""
        self._clear()
        self.ref_code = normalize_code(self.router.url.query_parameters.get("ref", ""))[:30]
        return self._load(None)

    @rx.event
    def submit(self, form: dict[str, Any]) -> Any:
        """Register, sign in, go to the member home."""
        self._clear()
        ip, ua = self._client()

        def register() -> Registration:
            with tenant_session(self._tenant().id) as s:
                return register_patient(
                    session=s,
                    name=form_str(form, "name"),
                    phone=form_str(form, "phone"),
                    email=form_str(form, "email"),
                    password=form_str(form, "password"),
                    password_confirm=form_str(form, "password_confirm"),
                    sex=form_str(form, "sex") or "unknown",
                    birth_date=form_str(form, "birth_date"),
                    locale=self.lang,
                    ip=ip,
                    user_agent=ua,
                    referral_code=form_str(form, "referral_code"),
                )

        reg = self._attempt(register, self._fail)
        if reg is None:
            return None
        self.patient_token = reg.token
        return rx.redirect(f"{self.base_path}/")


class ResetMixin(FormMixin, mixin=True):
    """Two steps: ask for a code, then set a new password with it."""

    code_sent: bool = False
    identifier: str = ""


def start_reset(state: Any) -> Any:
    """on_load of a reset page: step one, tenant shown."""
    state._clear()
    state.code_sent = False
    state.identifier = ""
    return state._load(None)


def send_reset_code(state: Any, kind: str, form: dict[str, Any]) -> None:
    """Step one: send a code to the account (silently nothing for unknown ones)."""
    state._clear()
    ident = form_str(form, "identifier").strip()
    if not ident:
        state._fail(state.tr("error.invalid_input"), {"identifier": state.tr("field.required")})
        return
    ip, _ua = state._client()

    def send() -> bool:
        with tenant_session(state._tenant().id) as s:
            request_reset(session=s, kind=kind, identifier=ident, ip=ip)
        return True

    if not state._attempt(send, state._fail):
        return
    state.identifier = ident
    state.code_sent = True
    state.notice = state.tr("auth.reset_sent")


def apply_reset(state: Any, kind: str, form: dict[str, Any], login_path: str) -> Any:
    """Step two: set the new password with the code, then go to sign-in."""
    state._clear()
    ip, _ua = state._client()

    def reset() -> dict[str, tuple[str, dict[str, object]]]:
        with tenant_session(state._tenant().id) as s:
            return reset_password(
                session=s,
                kind=kind,
                identifier=state.identifier,
                code=form_str(form, "code"),
                password=form_str(form, "password"),
                password_confirm=form_str(form, "password_confirm"),
                ip=ip,
            )

    errors = state._attempt(reset, state._fail)
    if errors is None:
        return None
    if errors:
        state._fail(
            state.tr("error.invalid_input"), {f: state.tr(k, **p) for f, (k, p) in errors.items()}
        )
        return None
    return [rx.toast.success(state.tr("auth.reset_done")), rx.redirect(login_path)]


class PatientResetState(ResetMixin, AppState):
    """Patient password reset."""

    @rx.event
    def load(self) -> Any:
        """Start at step one."""
        return start_reset(self)

    @rx.event
    def send_code(self, form: dict[str, Any]) -> None:
        """Step one: send a code."""
        send_reset_code(self, "patient", form)

    @rx.event
    def reset_password(self, form: dict[str, Any]) -> Any:
        """Step two: new password."""
        return apply_reset(self, "patient", form, f"{self.base_path}/login")


def reset_form(state: Any, identifier_label: str, back_href: Any) -> rx.Component:
    """The two-step reset form, shared by patients and staff."""
    return rx.vstack(
        rx.heading(t("reset.title"), size="6"),
        form_error(state),
        rx.cond(
            state.code_sent,
            rx.form(
                rx.vstack(
                    field(state, "reset.code", "code", autocomplete="one-time-code"),
                    *new_password_fields(state, "reset.new_password"),
                    submit_button("reset.submit"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=state.reset_password,
                width="100%",
            ),
            rx.form(
                rx.vstack(
                    field(state, identifier_label, "identifier"),
                    submit_button("reset.send"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=state.send_code,
                width="100%",
            ),
        ),
        rx.link(t("reset.back"), href=back_href),
        spacing="3",
        width="100%",
    )


@page("/login", title="Sign in", on_load=PatientLoginState.load)
def patient_login() -> rx.Component:
    """Member sign-in."""
    s = PatientLoginState
    return patient_layout(
        centered_card(
            rx.heading(t("login.patient_title"), size="6"),
            form_error(s),
            sign_in_form(s, label_key="login.identifier", name="identifier"),
            rx.hstack(
                rx.link(
                    t("login.no_account"), href=AppState.base_path + "/register", id="to-register"
                ),
                rx.spacer(),
                rx.link(t("login.forgot"), href=AppState.base_path + "/reset"),
                width="100%",
            ),
            rx.link(
                t("login.staff_link"),
                href=AppState.base_path + "/admin/login",
                size="1",
                color_scheme="gray",
            ),
        ),
        signed_in=False,
    )


@page("/register", title="Register", on_load=RegisterState.load)
def patient_register() -> rx.Component:
    """Member registration."""
    s = RegisterState
    return patient_layout(
        centered_card(
            rx.heading(t("register.title"), size="6"),
            form_error(s),
            rx.form(
                rx.vstack(
                    field(s, "register.name", "name", autocomplete="name"),
                    field(s, "register.phone", "phone", type="tel", autocomplete="tel"),
                    field(
                        s, "register.email_optional", "email", type="email", autocomplete="email"
                    ),
                    select_field(
                        s,
                        "register.sex",
                        "sex",
                        [
                            ("unknown", "sex.unknown"),
                            ("female", "sex.female"),
                            ("male", "sex.male"),
                        ],
                        default_value="unknown",
                    ),
                    field(s, "register.birth_date", "birth_date", type="date"),
                    *new_password_fields(s, "register.password"),
                    rx.box(  # keyed: the ?ref= value arrives after the first render
                        field(
                            s,
                            "register.referral_code",
                            "referral_code",
                            default_value=s.ref_code,
                            hint_key="register.referral_hint",
                        ),
                        key=s.ref_code,
                        width="100%",
                    ),
                    submit_button("register.submit"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=s.submit,
                width="100%",
            ),
            rx.link(t("register.have_account"), href=AppState.base_path + "/login"),
        ),
        signed_in=False,
    )


@page("/reset", title="Reset password", on_load=PatientResetState.load)
def patient_reset() -> rx.Component:
    """Member password reset."""
    return patient_layout(
        centered_card(
            reset_form(PatientResetState, "reset.identifier_patient", AppState.base_path + "/login")
        ),
        signed_in=False,
    )
