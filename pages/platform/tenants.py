"""The operator's console: tenants, onboarding a new one, suspending and restoring."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import (
    FormMixin,
    client_id,
    field,
    form_dialog,
    form_error,
    form_str,
    select_field,
)
from components.i18n import t, t_var
from components.layout import platform_layout
from components.routing import page
from pages.admin.billing import invoice_status_text
from prm_saas.accounts.models import PrincipalKind
from prm_saas.billing.console import ConsoleRow, resume_tenant, suspend_tenant, tenant_rows
from prm_saas.display import local_time, timezone_choices, yuan
from prm_saas.platform.billing import (
    current_plans,
    end_subscription,
    list_plans,
    set_tenant_plan,
)
from prm_saas.platform.services import list_tenants, onboard_tenant

KINDS = [("clinic", "kind.clinic"), ("checkup_center", "kind.checkup_center")]
LOCALES = [("zh-CN", "lang.zh"), ("en", "lang.en")]
STATUSES = ["trial", "active", "past_due", "suspended"]


def _usage_text(b: ConsoleRow | None) -> str:
    """Patients / messages this period (of those included) at the last roll-up."""
    if b is None:
        return ""
    return f"{b.patients:,} / {b.messages_in_period:,} ({b.messages_included:,})"


class TenantsState(FormMixin, AppState):
    """Tenant list and the onboarding dialog."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    query: str = ""
    create_open: bool = False
    # Plans: the ones on sale (for the dialog), the MRR of the tenants listed.
    plan_options: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    total_mrr: str = ""
    plan_open: bool = False
    plan_for: dict[str, str] = {}  # noqa: RUF012 - Reflex state var (the dialog's tenant)
    _plan_tenant_id: int | None = None
    # Suspend / resume with a reason: the dialog's tenant and which of the two.
    status_open: bool = False
    status_for: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    _status_tenant_id: int | None = None

    def _read(self, s: Any, p: Any) -> tuple[list[dict[str, str]], list[dict[str, str]], int]:
        tenants = list_tenants(session=s, actor=p, query=self.query)
        plans = current_plans(session=s, actor=p)
        on_sale = list_plans(session=s, actor=p, include_inactive=False)
        billing = {c.id: c for c in tenant_rows(session=s, actor=p, query=self.query)}
        rows = []
        for r in tenants:
            cur = plans.get(r.id)
            b = billing.get(r.id)
            day = lambda v, tz=r.timezone: local_time(v, tz)[:10]  # noqa: E731
            rows.append(
                {
                    "id": str(r.id),
                    "slug": r.slug,
                    "name": r.name,
                    "kind": r.kind,
                    "status": r.status,
                    "created": local_time(r.created_at, r.timezone),
                    "plan_id": str(cur.plan_id) if cur else "",
                    "plan_zh": cur.name_zh if cur else "",
                    "plan_en": cur.name_en if cur else "",
                    "mrr": yuan(b.mrr_fen if b else cur.monthly_fen) if cur else "",
                    "usage": _usage_text(b),
                    "inv_status": b.last_invoice_status if b else "",
                    "inv_amount": yuan(b.last_invoice_total_fen)
                    if b and b.last_invoice_status
                    else "",
                    "inv_date": day(b.last_invoice_at) if b else "",
                    "trial_end": day(b.trial_ends_at) if b and r.status == "trial" else "",
                    "past_due_since": day(b.past_due_since) if b else "",
                    "suspension": b.suspension if b and r.status == "suspended" else "",
                }
            )
        options = [
            {
                "id": str(o.id),
                "name_zh": o.name_zh,
                "name_en": o.name_en,
                "monthly": yuan(o.monthly_fen),
            }
            for o in on_sale
        ]
        mrr = sum(billing[t].mrr_fen if t in billing else c.monthly_fen for t, c in plans.items())
        return rows, options, mrr

    def _refresh(self) -> Any:
        result, ev = self._run(PrincipalKind.OPERATOR, self._read, self._fail)
        if result is not None:
            self.rows, self.plan_options, mrr = result
            self.total_mrr = yuan(mrr)
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
    def open_status(self, tenant_id: str, action: str) -> None:
        """The suspend / resume dialog for one listed tenant (asks for a reason)."""
        self._clear()
        wanted = client_id(tenant_id)
        found = [r for r in self.rows if r["id"] == str(wanted)]
        if wanted is None or not found or action not in ("suspend", "resume"):
            return
        self._status_tenant_id = wanted
        self.status_for = {"name": found[0]["name"], "action": action}
        self.status_open = True

    @rx.event
    def set_status_open(self, value: bool) -> None:
        """Open or close the suspend / resume dialog."""
        self.status_open = bool(value)
        self.field_errors = {}
        self.error = ""

    @rx.event
    def apply_status(self, form: dict[str, Any]) -> Any:
        """Suspend or resume the dialog's tenant with the reason typed (the service
        requires it and audits it)."""
        self._clear()
        ip, _ua = self._client()
        tenant_id = self._status_tenant_id
        action = self.status_for.get("action", "")
        if tenant_id is None or action not in ("suspend", "resume"):
            return None
        act = suspend_tenant if action == "suspend" else resume_tenant
        reason = form_str(form, "reason")
        done, ev = self._run(
            PrincipalKind.OPERATOR,
            lambda s, p: act(session=s, actor=p, tenant_id=tenant_id, reason=reason, ip=ip),
            self._fail,
        )
        if done is None:
            return ev
        self.status_open = False
        key = "console_ui.suspended_ok" if action == "suspend" else "console_ui.resumed_ok"
        self.notice = self.tr(key, name=self.status_for.get("name", ""))
        return self._refresh()

    @rx.event
    def open_plan(self, tenant_id: str) -> None:
        """The plan dialog for one listed tenant (the save checks it exists)."""
        self._clear()
        wanted = client_id(tenant_id)
        found = [r for r in self.rows if r["id"] == str(wanted)]
        if wanted is None or not found:
            return
        self._plan_tenant_id = wanted
        self.plan_for = {"name": found[0]["name"], "plan_id": found[0]["plan_id"]}
        self.plan_open = True

    @rx.event
    def set_plan_open(self, value: bool) -> None:
        """Open or close the plan dialog."""
        self.plan_open = bool(value)
        self.field_errors = {}
        self.error = ""

    @rx.event
    def change_plan(self, form: dict[str, Any]) -> Any:
        """Put the tenant on the chosen plan, or end its subscription ("" chosen)."""
        self._clear()
        ip, _ua = self._client()
        tenant_id = self._plan_tenant_id
        if tenant_id is None:
            return None
        chosen = form_str(form, "plan_id")
        reason = form_str(form, "reason")
        plan_id = client_id(chosen)
        if chosen == "":
            done, ev = self._run(
                PrincipalKind.OPERATOR,
                lambda s, p: end_subscription(
                    session=s, actor=p, tenant_id=tenant_id, reason=reason, ip=ip
                ),
                self._fail,
            )
            notice = "subscription.ended_ok"
        else:
            done, ev = self._run(
                PrincipalKind.OPERATOR,
                lambda s, p: set_tenant_plan(
                    session=s,
                    actor=p,
                    tenant_id=tenant_id,
                    plan_id=plan_id if plan_id is not None else -1,
                    reason=reason,
                    ip=ip,
                ),
                self._fail,
            )
            notice = "subscription.changed_ok"
        if done is None:
            return ev
        self.plan_open = False
        self.notice = self.tr(notice)
        return self._refresh()


def plan_dialog() -> rx.Component:
    """Set a tenant's plan (or end its subscription) with a reason for the audit log."""
    s = TenantsState
    en = AppState.lang == "en"
    return form_dialog(
        s,
        open_var=s.plan_open,
        on_open_change=s.set_plan_open,
        on_submit=s.change_plan,
        trigger=None,
        title=rx.hstack(t("subscription.set_plan"), rx.text("·"), rx.text(s.plan_for["name"])),
        fields=[
            rx.vstack(
                rx.el.label(
                    t("subscription.plan"),
                    html_for="f-plan_id",
                    style={"fontSize": "14px", "fontWeight": 500},
                ),
                rx.el.select(
                    rx.foreach(
                        s.plan_options,
                        lambda o: rx.el.option(
                            rx.cond(en, o["name_en"], o["name_zh"]) + " · " + o["monthly"],
                            value=o["id"],
                        ),
                    ),
                    rx.el.option(t("subscription.end"), value=""),
                    name="plan_id",
                    id="f-plan_id",
                    default_value=s.plan_for["plan_id"],
                    style={
                        "width": "100%",
                        "padding": "8px",
                        "borderRadius": "6px",
                        "border": "1px solid var(--gray-7)",
                        "background": "var(--color-surface)",
                    },
                ),
                rx.cond(
                    s.field_errors["plan_id"],
                    rx.text(
                        s.field_errors["plan_id"], size="1", color_scheme="red", id="err-plan_id"
                    ),
                ),
                spacing="1",
                width="100%",
                align="start",
            ),
            field(s, "subscription.reason", "reason", hint_key="subscription.reason_hint"),
        ],
        submit_key="subscription.save",
        submit_id="save-tenant-plan",
    )


def status_dialog() -> rx.Component:
    """Suspend or resume one tenant; the reason is required and audited."""
    s = TenantsState
    suspend = s.status_for["action"] == "suspend"
    return form_dialog(
        s,
        open_var=s.status_open,
        on_open_change=s.set_status_open,
        on_submit=s.apply_status,
        trigger=None,
        title=rx.hstack(
            rx.cond(suspend, t("console_ui.suspend_title"), t("console_ui.resume_title")),
            rx.text("·"),
            rx.text(s.status_for["name"]),
        ),
        fields=[field(s, "console_ui.reason", "reason")],
        submit_key="console_ui.confirm",
        submit_id="confirm-status",
    )


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
            rx.cond(
                r["plan_id"] != "",
                rx.text(rx.cond(AppState.lang == "en", r["plan_en"], r["plan_zh"])),
                rx.text(t("subscription.none"), color_scheme="gray"),
            ),
            class_name="tenant-plan",
        ),
        rx.table.cell(r["mrr"], class_name="tenant-mrr"),
        rx.table.cell(r["usage"], class_name="tenant-usage"),
        rx.table.cell(
            rx.cond(
                r["inv_status"] != "",
                rx.vstack(
                    rx.hstack(
                        rx.badge(
                            invoice_status_text(r["inv_status"]),
                            color_scheme=rx.match(
                                r["inv_status"], ("paid", "green"), ("open", "amber"), "gray"
                            ),
                        ),
                        rx.text(r["inv_amount"], size="1"),
                        spacing="1",
                    ),
                    rx.text(r["inv_date"], size="1", color_scheme="gray"),
                    spacing="1",
                ),
                rx.text(t("console_ui.none"), color_scheme="gray"),
            ),
            class_name="tenant-invoice",
        ),
        rx.table.cell(
            rx.cond(
                r["past_due_since"] != "",
                rx.text(t("console_ui.past_due_since_label"), r["past_due_since"], size="1"),
                rx.cond(
                    r["trial_end"] != "",
                    rx.text(t("console_ui.trial_until_label"), r["trial_end"], size="1"),
                ),
            ),
            rx.cond(
                r["suspension"] != "",
                rx.text(
                    rx.match(
                        r["suspension"],
                        ("billing", t("console_ui.suspension_billing")),
                        ("manual", t("console_ui.suspension_manual")),
                        "",
                    ),
                    size="1",
                    color_scheme="red",
                ),
            ),
            class_name="tenant-dates",
        ),
        rx.table.cell(
            rx.hstack(
                rx.link(t("platform.open"), href="/t/" + r["slug"] + "/admin/login"),
                rx.button(
                    t("subscription.set_plan"),
                    size="1",
                    variant="soft",
                    on_click=s.open_plan(r["id"]),
                    id="plan-" + r["slug"],
                ),
                rx.cond(
                    r["status"] == "suspended",
                    rx.button(
                        t("console_ui.resume"),
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        on_click=s.open_status(r["id"], "resume"),
                        id="resume-" + r["slug"],
                    ),
                    rx.button(
                        t("console_ui.suspend"),
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=s.open_status(r["id"], "suspend"),
                        id="suspend-" + r["slug"],
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
            plan_dialog(),
            status_dialog(),
            rx.text(
                t("subscription.mrr"), ": ", s.total_mrr, size="2", weight="medium", id="total-mrr"
            ),
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
                                "subscription.plan",
                                "subscription.mrr",
                                "console_ui.usage",
                                "console_ui.last_invoice",
                                "console_ui.dates",
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
