"""/signup: a clinic or health-check center signs itself up on the platform host
(issue 8). Organisation, address name (shown as the address it gives), kind,
the first administrator and a plan; the page calls ``signup.sign_up_and_bill``,
which checks everything, and then says until when the trial runs (in the new
tenant's time zone) and links to the new tenant's admin sign-in.

Mobile first: one narrow column, thumb-sized inputs, the language switch on top.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, client_id, field, form_error, form_str, select_field
from components.i18n import t
from components.layout import gate, language_switch
from components.routing import page
from prm_saas.billing.catalog import PublicPlan, plans_on_sale
from prm_saas.billing.signup import sign_up_and_bill
from prm_saas.display import local_time, timezone_choices, yuan
from tenants.db import platform_session

KINDS = [("clinic", "kind.clinic"), ("checkup_center", "kind.checkup_center")]


def _n(value: int | None) -> str:
    return "∞" if value is None else f"{value:,}"


def _plan_dict(p: PublicPlan, first: bool) -> dict[str, str]:
    return {
        "id": str(p.id),
        "code": p.code,
        "name_zh": p.name_zh,
        "name_en": p.name_en,
        "monthly": yuan(p.monthly_fen),
        "max_staff": _n(p.max_staff),
        "max_locations": _n(p.max_locations),
        "max_active_patients": _n(p.max_active_patients),
        "messages_included": f"{p.messages_included:,}",
        "overage": yuan(p.message_overage_fen),
        "messages_cap": _n(p.messages_cap),
        "trial_days": str(p.trial_days),
        "first": "1" if first else "",
    }


class SignUpState(FormMixin, AppState):
    """The sign-up form and, once it went through, what was created."""

    plans: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    slug_preview: str = ""
    done: bool = False
    result: dict[str, str] = {}  # noqa: RUF012 - Reflex state var

    def _read_plans(self) -> list[dict[str, str]]:
        """The plans on sale, for the picker."""
        with platform_session() as s:
            plans = plans_on_sale(session=s)
        return [_plan_dict(p, i == 0) for i, p in enumerate(plans)]

    @rx.event
    def load(self) -> Any:
        """Public, on the platform host only (a tenant's host has no sign-up)."""
        self._clear()
        self.done = False
        self.result = {}
        self.slug_preview = ""
        res = self._resolution()
        self._load(None)
        if res.requested:
            self.page_status = "not_found"
            return None
        self.page_status = "ok"
        self.plans = self._read_plans()
        return None

    @rx.event
    def set_slug_preview(self, value: str) -> None:
        """Show the address the typed name would give (the service decides)."""
        self.slug_preview = (value if isinstance(value, str) else "").strip().lower()[:60]

    @rx.event
    def submit(self, form: dict[str, Any]) -> Any:
        """Sign up: nothing is created unless every field is right."""
        self._clear()
        if self._resolution().requested:
            self.error = self.tr("error.not_found")
            return None
        ip, _ua = self._client()
        picked = client_id(form_str(form, "plan_id"))
        zone = form_str(form, "timezone") or "Asia/Shanghai"
        done = self._attempt(
            lambda: sign_up_and_bill(
                name=form_str(form, "name"),
                slug=form_str(form, "slug"),
                kind=form_str(form, "kind"),
                admin_email=form_str(form, "admin_email"),
                admin_name=form_str(form, "admin_name"),
                admin_password=form_str(form, "admin_password"),
                plan_id=picked if picked is not None else 0,
                locale=self.lang,
                timezone=zone,
                ip=ip,
            ),
            self._fail,
        )
        if done is None:
            return None
        self.done = True
        self.result = {
            "name": form_str(form, "name").strip(),
            "slug": done.slug,
            "address": f"/t/{done.slug}",
            "trial_end": local_time(done.trial_ends_at, zone),
            "timezone": zone,
            "login_href": f"/t/{done.slug}/admin/login",
            "stripe_ready": "1" if done.stripe_ready else "",
        }
        return rx.scroll_to("signup-done")


def _plan_option(p: rx.Var[dict[str, str]]) -> rx.Component:
    en = AppState.lang == "en"
    return rx.el.label(
        rx.hstack(
            rx.el.input(
                type="radio",
                name="plan_id",
                value=p["id"],
                id="plan-" + p["code"],
                default_checked=p["first"] == "1",
                style={"width": "20px", "height": "20px", "marginTop": "4px"},
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(rx.cond(en, p["name_en"], p["name_zh"]), weight="bold", size="3"),
                    rx.spacer(),
                    rx.text(p["monthly"], weight="bold", size="3"),
                    rx.text(t("signup_ui.per_month"), size="1", color_scheme="gray"),
                    width="100%",
                    align="baseline",
                    spacing="1",
                ),
                rx.text(
                    t("billing_ui.usage_staff"),
                    " ",
                    p["max_staff"],
                    " · ",
                    t("billing_ui.usage_locations"),
                    " ",
                    p["max_locations"],
                    " · ",
                    t("billing_ui.usage_patients"),
                    " ",
                    p["max_active_patients"],
                    size="1",
                    color_scheme="gray",
                ),
                rx.text(
                    t("billing_ui.usage_messages"),
                    " ",
                    p["messages_included"],
                    " · ",
                    t("console_ui.message_overage_short"),
                    " ",
                    p["overage"],
                    " · ",
                    t("console_ui.cap_short"),
                    " ",
                    p["messages_cap"],
                    size="1",
                    color_scheme="gray",
                ),
                rx.cond(
                    p["trial_days"] != "0",
                    rx.badge(
                        t("signup_ui.trial_days_var"),
                        p["trial_days"],
                        color_scheme="green",
                        variant="soft",
                    ),
                ),
                spacing="1",
                width="100%",
                align="start",
            ),
            spacing="3",
            align="start",
            width="100%",
        ),
        html_for="plan-" + p["code"],
        class_name="signup-plan",
        style={
            "display": "block",
            "width": "100%",
            "padding": "12px",
            "borderRadius": "8px",
            "border": "1px solid var(--gray-6)",
            "cursor": "pointer",
        },
    )


def _form() -> rx.Component:
    s = SignUpState
    return rx.form(
        rx.vstack(
            rx.heading(t("signup_ui.org_section"), size="3"),
            field(s, "signup_ui.name", "name", autocomplete="organization"),
            rx.vstack(
                rx.el.label(
                    t("signup_ui.slug"),
                    html_for="f-slug",
                    style={"fontSize": "14px", "fontWeight": 500},
                ),
                rx.input(
                    name="slug",
                    id="f-slug",
                    width="100%",
                    size="3",
                    auto_complete="off",
                    auto_capitalize="none",
                    on_change=s.set_slug_preview.debounce(250),  # type: ignore[attr-defined]
                ),
                rx.text(
                    t("signup_ui.address"),
                    rx.code("/t/" + rx.cond(s.slug_preview != "", s.slug_preview, "…")),
                    size="1",
                    id="slug-preview",
                ),
                rx.cond(
                    s.field_errors["slug"],
                    rx.text(s.field_errors["slug"], size="1", color_scheme="red", id="err-slug"),
                    rx.text(t("signup_ui.slug_hint"), size="1", color_scheme="gray"),
                ),
                spacing="1",
                width="100%",
                align="start",
            ),
            select_field(s, "signup_ui.kind", "kind", KINDS, default_value="clinic"),
            select_field(
                s,
                "settings.timezone",
                "timezone",
                [(z, z) for z in timezone_choices()],
                default_value="Asia/Shanghai",
                translate_labels=False,
            ),
            rx.heading(t("signup_ui.admin_section"), size="3", margin_top="8px"),
            field(s, "signup_ui.admin_name", "admin_name", autocomplete="name"),
            field(s, "signup_ui.admin_email", "admin_email", type="email", autocomplete="email"),
            field(
                s,
                "signup_ui.admin_password",
                "admin_password",
                type="password",
                autocomplete="new-password",
                hint_key="register.password_hint",
            ),
            rx.heading(t("signup_ui.plan_section"), size="3", margin_top="8px"),
            rx.cond(
                s.plans.length() > 0,  # type: ignore[attr-defined]
                rx.vstack(rx.foreach(s.plans, _plan_option), width="100%", spacing="2"),
                rx.text(t("signup_ui.no_plans"), color_scheme="gray", id="no-plans"),
            ),
            rx.cond(
                s.field_errors["plan_id"],
                rx.text(s.field_errors["plan_id"], size="1", color_scheme="red", id="err-plan_id"),
            ),
            form_error(s),
            rx.button(
                t("signup_ui.submit"), type="submit", size="3", width="100%", id="signup-submit"
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=s.submit,
        reset_on_submit=False,
        width="100%",
        id="signup-form",
    )


def _done() -> rx.Component:
    r = SignUpState.result
    return rx.vstack(
        rx.icon("circle-check", size=40, color=rx.color("green", 9)),
        rx.heading(t("signup_ui.done_title"), size="6", id="signup-done"),
        rx.text(r["name"], weight="bold", size="4"),
        rx.hstack(
            rx.text(t("signup_ui.done_trial"), color_scheme="gray"),
            rx.text(r["trial_end"], " (", r["timezone"], ")", weight="bold", id="trial-end"),
            wrap="wrap",
        ),
        rx.hstack(
            rx.text(t("signup_ui.done_address"), color_scheme="gray"),
            rx.code(r["address"], id="tenant-address"),
            wrap="wrap",
        ),
        rx.text(t("signup_ui.done_next")),
        rx.cond(
            r["stripe_ready"] != "1",
            rx.text(t("signup_ui.stripe_later"), size="1", color_scheme="gray"),
        ),
        rx.link(
            rx.button(t("signup_ui.go_admin"), size="3", width="100%"),
            href=r["login_href"],
            id="go-admin",
            width="100%",
        ),
        spacing="3",
        width="100%",
        align="start",
    )


@page("/signup", title="Sign up", on_load=SignUpState.load, tenant=False)
def signup_page() -> rx.Component:
    """Self-serve sign-up (public, platform host)."""
    s = SignUpState
    return gate(
        rx.vstack(
            rx.hstack(
                rx.link(rx.heading(t("app.name"), size="4"), href="/", underline="none"),
                rx.spacer(),
                language_switch(),
                width="100%",
                padding="12px 16px",
                align="center",
            ),
            rx.box(
                rx.card(
                    rx.cond(
                        s.done,
                        _done(),
                        rx.vstack(
                            rx.heading(t("signup_ui.title"), size="6"),
                            rx.text(t("signup_ui.subtitle"), color_scheme="gray", size="2"),
                            _form(),
                            spacing="3",
                            width="100%",
                        ),
                    ),
                    size="3",
                    width="100%",
                ),
                width="100%",
                max_width="560px",
                padding="0 12px 48px",
            ),
            width="100%",
            align="center",
            spacing="2",
        )
    )
