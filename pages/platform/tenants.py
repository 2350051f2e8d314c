"""The operator's console: tenants, onboarding a new one, suspending and restoring."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, field, form_dialog, form_error, form_str, select_field
from components.i18n import t, t_var
from components.layout import platform_layout
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import local_time, timezone_choices
from prm_saas.platform.services import list_tenants, onboard_tenant, set_tenant_status

KINDS = [("clinic", "kind.clinic"), ("checkup_center", "kind.checkup_center")]
LOCALES = [("zh-CN", "lang.zh"), ("en", "lang.en")]
STATUSES = ["trial", "active", "past_due", "suspended"]


class TenantsState(FormMixin, AppState):
    """Tenant list and the onboarding dialog."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    query: str = ""
    create_open: bool = False

    def _refresh(self) -> Any:
        q = self.query
        result, ev = self._run(
            PrincipalKind.OPERATOR,
            lambda s, p: [
                {
                    "id": str(r.id),
                    "slug": r.slug,
                    "name": r.name,
                    "kind": r.kind,
                    "status": r.status,
                    "created": local_time(r.created_at, r.timezone),
                }
                for r in list_tenants(session=s, actor=p, query=q)
            ],
            self._fail,
        )
        if result is not None:
            self.rows = result
        return ev

    @rx.event
    def load(self) -> Any:
        """Operators only."""
        self._clear()
        self.create_open = False
        redirect = self._load(PrincipalKind.OPERATOR)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    @rx.event
    def search(self, form: dict[str, Any]) -> Any:
        """Filter by name or slug."""
        self.query = form_str(form, "q")[:60]
        return self._refresh()

    @rx.event
    def set_create_open(self, value: bool) -> None:
        """Open or close the onboarding dialog."""
        self.create_open = bool(value)
        self.field_errors = {}

    @rx.event
    def create(self, form: dict[str, Any]) -> Any:
        """Create a tenant and its first admin in one transaction."""
        self._clear()
        ip, _ua = self._client()
        done, ev = self._run(
            PrincipalKind.OPERATOR,
            lambda s, p: onboard_tenant(
                session=s,
                actor=p,
                slug=form_str(form, "slug"),
                name=form_str(form, "name"),
                kind=form_str(form, "kind"),
                timezone=form_str(form, "timezone") or "Asia/Shanghai",
                default_locale=form_str(form, "default_locale"),
                admin_email=form_str(form, "admin_email"),
                admin_name=form_str(form, "admin_name"),
                admin_password=form_str(form, "admin_password"),
                ip=ip,
            ),
            self._fail,
            allow_tenant_switch=True,
        )
        if done is None:
            return ev
        self.create_open = False
        self.notice = self.tr("platform.created_ok", name=done.tenant.name)
        return self._refresh()

    @rx.event
    def set_status(self, tenant_id: int, status: str) -> Any:
        """Suspend, activate, ..."""
        self._clear()
        ip, _ua = self._client()
        _r, ev = self._run(
            PrincipalKind.OPERATOR,
            lambda s, p: set_tenant_status(
                session=s, actor=p, tenant_id=tenant_id, status=status, ip=ip
            ),
            self._fail,
        )
        return ev or self._refresh()


def create_dialog() -> rx.Component:
    """The onboarding form."""
    s = TenantsState
    return form_dialog(
        s,
        open_var=s.create_open,
        on_open_change=s.set_create_open,
        on_submit=s.create,
        trigger=rx.button(rx.icon("plus", size=16), t("platform.new_tenant"), id="open-create"),
        title="platform.new_tenant",
        fields=[
            field(s, "settings.org_name", "name"),
            field(s, "settings.slug", "slug", hint_key="platform.slug_help"),
            select_field(s, "settings.kind", "kind", KINDS, default_value="clinic"),
            select_field(
                s,
                "settings.timezone",
                "timezone",
                [(z, z) for z in timezone_choices()],
                default_value="Asia/Shanghai",
                translate_labels=False,
            ),
            select_field(
                s, "settings.default_locale", "default_locale", LOCALES, default_value="zh-CN"
            ),
            rx.heading(t("platform.first_admin"), size="3"),
            field(s, "platform.admin_name", "admin_name"),
            field(s, "platform.admin_email", "admin_email", type="email"),
            field(
                s,
                "platform.admin_password",
                "admin_password",
                type="password",
                autocomplete="new-password",
            ),
        ],
        submit_key="platform.create",
        submit_id="create-tenant",
        max_width="520px",
    )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = TenantsState
    tid = r["id"].to(int)
    return rx.table.row(
        rx.table.cell(r["name"]),
        rx.table.cell(rx.code(r["slug"])),
        rx.table.cell(t_var("kind", r["kind"], ["clinic", "checkup_center"])),
        rx.table.cell(
            rx.badge(
                t_var("tenant_status", r["status"], STATUSES),
                color_scheme=rx.match(
                    r["status"],
                    ("active", "green"),
                    ("trial", "blue"),
                    ("past_due", "amber"),
                    "red",
                ),
            )
        ),
        rx.table.cell(r["created"]),
        rx.table.cell(
            rx.hstack(
                rx.link(t("platform.open"), href="/t/" + r["slug"] + "/admin/login"),
                rx.cond(
                    r["status"] == "suspended",
                    rx.button(
                        t("platform.activate"),
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        on_click=s.set_status(tid, "active"),
                    ),
                    rx.button(
                        t("platform.suspend"),
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=s.set_status(tid, "suspended"),
                    ),
                ),
                spacing="3",
                align="center",
            )
        ),
        id="tenant-" + r["slug"],
    )


@page("/platform", title="Tenants", on_load=TenantsState.load, tenant=False)
def tenants_page() -> rx.Component:
    """Tenant list."""
    s = TenantsState
    return platform_layout(
        rx.vstack(
            rx.hstack(
                rx.heading(t("platform.tenants_title"), size="6"),
                rx.spacer(),
                rx.form(
                    rx.input(name="q", placeholder=t("common.search")),
                    on_submit=s.search,
                    reset_on_submit=False,
                ),
                create_dialog(),
                width="100%",
                align="center",
            ),
            form_error(s),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(t(k))
                            for k in (
                                "settings.org_name",
                                "settings.slug",
                                "settings.kind",
                                "common.status",
                                "common.created",
                                "common.actions",
                            )
                        ]
                    )
                ),
                rx.table.body(rx.foreach(s.rows, _row)),
                width="100%",
                size="1",
                id="tenants-table",
            ),
            spacing="4",
            width="100%",
        ),
        active="tenants",
    )
