"""Tenant settings: branding, time zone and language, single sign-on."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, field, form_error, form_str, select_field
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import timezone_choices
from prm_saas.organization.services import (
    get_tenant_settings,
    update_branding,
    update_regional,
    update_sso,
)
from prm_saas.settings import get_settings
from tenants.resolution import tenant_base_url


class SettingsState(FormMixin, AppState):
    """The three settings forms share one state (one page, one set of errors)."""

    name: str = ""
    logo_url: str = ""
    primary_color: str = ""
    timezone: str = ""
    default_locale: str = ""
    slug: str = ""
    kind: str = ""
    sso_enabled: bool = False
    sso_issuer: str = ""
    sso_client_id: str = ""
    sso_has_secret: bool = False
    redirect_uri: str = ""
    form_key: int = 0  # bumps to re-mount the uncontrolled forms with fresh defaults

    def _refresh(self) -> Any:
        view, ev = self._run(
            PrincipalKind.STAFF, lambda s, p: get_tenant_settings(session=s, actor=p), self._fail
        )
        if view is not None:
            self.name, self.logo_url, self.primary_color = (
                view.name,
                view.logo_url,
                view.primary_color,
            )
            self.timezone, self.default_locale = view.timezone, view.default_locale
            self.slug, self.kind = view.slug, view.kind
            self.sso_enabled, self.sso_issuer = view.sso_enabled, view.sso_issuer
            self.sso_client_id, self.sso_has_secret = view.sso_client_id, view.sso_has_secret
            base = tenant_base_url(self._tenant(), public_url=get_settings().public_url)
            origin = base.removesuffix(f"/t/{view.slug}")
            self.redirect_uri = f"{origin}/api/sso/{view.slug}/callback"
            self.form_key += 1
        return ev

    @rx.event
    def load(self) -> Any:
        """Admins only."""
        self._clear()
        redirect = self._load(PrincipalKind.STAFF, Permission.SETTINGS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    def _save(self, fn: Any) -> Any:
        self._clear()
        _done, ev = self._run(PrincipalKind.STAFF, fn, self._fail)
        if ev is not None:
            return ev
        if not self.error:
            self.notice = self.tr("common.saved")
            # Re-read the tenant so the shell (name, color, language) updates at once.
            self._load(PrincipalKind.STAFF)
            return self._refresh()
        return None

    @rx.event
    def save_branding(self, form: dict[str, Any]) -> Any:
        """Name, logo, color."""
        ip, _ua = self._client()
        return self._save(
            lambda s, p: update_branding(
                session=s,
                actor=p,
                name=form_str(form, "name"),
                logo_url=form_str(form, "logo_url"),
                primary_color=form_str(form, "primary_color"),
                ip=ip,
            )
        )

    @rx.event
    def save_regional(self, form: dict[str, Any]) -> Any:
        """Time zone and default language."""
        ip, _ua = self._client()
        return self._save(
            lambda s, p: update_regional(
                session=s,
                actor=p,
                timezone=form_str(form, "timezone"),
                default_locale=form_str(form, "default_locale"),
                ip=ip,
            )
        )

    @rx.event
    def save_sso(self, form: dict[str, Any]) -> Any:
        """The OpenID Connect provider."""
        ip, _ua = self._client()
        enabled = (
            form.get("sso_enabled") in ("on", True, "true") if isinstance(form, dict) else False
        )
        return self._save(
            lambda s, p: update_sso(
                session=s,
                actor=p,
                enabled=enabled,
                issuer=form_str(form, "sso_issuer"),
                client_id=form_str(form, "sso_client_id"),
                client_secret=form_str(form, "sso_client_secret"),
                ip=ip,
            )
        )


def section(title: str, *children: rx.Component) -> rx.Component:
    """A titled card."""
    return rx.card(
        rx.vstack(rx.heading(t(title), size="4"), *children, spacing="3", width="100%"),
        width="100%",
        max_width="720px",
    )


@page("/admin/settings", title="Settings", on_load=SettingsState.load)
def settings_page() -> rx.Component:
    """All tenant settings."""
    s = SettingsState
    return admin_layout(
        rx.vstack(
            rx.heading(t("settings.title"), size="6"),
            form_error(s),
            section(
                "settings.identity",
                rx.hstack(
                    rx.text(t("settings.slug"), color_scheme="gray"),
                    rx.code(s.slug),
                    rx.text(t("settings.kind"), color_scheme="gray"),
                    rx.text(t_var("kind", s.kind, ["clinic", "checkup_center"])),
                    spacing="3",
                ),
            ),
            section(
                "settings.branding",
                rx.form(
                    rx.vstack(
                        field(s, "settings.org_name", "name", default_value=s.name),
                        field(
                            s,
                            "settings.logo_url",
                            "logo_url",
                            default_value=s.logo_url,
                            placeholder="https://",
                        ),
                        field(
                            s,
                            "settings.color",
                            "primary_color",
                            type="color",
                            default_value=s.primary_color,
                        ),
                        rx.button(t("common.save"), type="submit", id="save-branding"),
                        spacing="3",
                        width="100%",
                        align="start",
                    ),
                    on_submit=s.save_branding,
                    reset_on_submit=False,
                    key=s.form_key,
                    width="100%",
                ),
            ),
            section(
                "settings.regional",
                rx.form(
                    rx.vstack(
                        select_field(
                            s,
                            "settings.timezone",
                            "timezone",
                            [(z, z) for z in timezone_choices()],
                            default_value=s.timezone,
                            translate_labels=False,
                        ),
                        select_field(
                            s,
                            "settings.default_locale",
                            "default_locale",
                            [("zh-CN", "lang.zh"), ("en", "lang.en")],
                            default_value=s.default_locale,
                        ),
                        rx.button(t("common.save"), type="submit", id="save-regional"),
                        spacing="3",
                        width="100%",
                        align="start",
                    ),
                    on_submit=s.save_regional,
                    reset_on_submit=False,
                    key=s.form_key,
                    width="100%",
                ),
            ),
            section(
                "settings.sso",
                rx.text(t("settings.sso_help"), size="2"),
                rx.code(s.redirect_uri, id="sso-redirect-uri"),
                rx.form(
                    rx.vstack(
                        rx.el.label(
                            rx.el.input(
                                type="checkbox",
                                name="sso_enabled",
                                default_checked=s.sso_enabled,
                                id="f-sso_enabled",
                            ),
                            " ",
                            t("settings.sso_enabled"),
                        ),
                        field(
                            s,
                            "settings.sso_issuer",
                            "sso_issuer",
                            default_value=s.sso_issuer,
                            placeholder="https://login.example.com",
                        ),
                        field(
                            s,
                            "settings.sso_client_id",
                            "sso_client_id",
                            default_value=s.sso_client_id,
                        ),
                        field(
                            s,
                            "settings.sso_client_secret",
                            "sso_client_secret",
                            type="password",
                            autocomplete="off",
                        ),
                        rx.cond(
                            s.sso_has_secret,
                            rx.text(t("settings.sso_secret_keep"), size="1", color_scheme="gray"),
                        ),
                        rx.button(t("common.save"), type="submit", id="save-sso"),
                        spacing="3",
                        width="100%",
                        align="start",
                    ),
                    on_submit=s.save_sso,
                    reset_on_submit=True,
                    key=s.form_key,
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        active="settings",
    )
