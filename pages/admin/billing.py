"""/admin/billing (tenant admins, BILLING_MANAGE; issue 8): the plan and the
tenant's billing status, usage against each limit, changing plans with the
proration preview first, the card on file (updated on the Stripe.js card page,
a full page load that comes back here) and the invoices with their lines.

The page only calls ``prm_saas.billing.services``; every check is there (a
staff member without BILLING_MANAGE gets the same 404 as elsewhere, another
tenant's invoice the same NotFound as a missing one).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, client_id, form_error
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.billing import services as billing
from prm_saas.display import local_time, yuan
from prm_saas.i18n import translate
from tenants.types import utcnow

INVOICE_STATUS_KEYS = {
    "draft": "billing_ui.inv_draft",
    "open": "billing_ui.inv_open",
    "paid": "billing_ui.inv_paid",
    "void": "billing_ui.inv_void",
    "uncollectible": "billing_ui.inv_uncollectible",
}
INVOICE_COLORS = {
    "paid": "green",
    "open": "amber",
    "draft": "gray",
    "void": "gray",
    "uncollectible": "red",
}


STAFF = PrincipalKind.STAFF


def _both(key: str, **params: Any) -> dict[str, str]:
    """A message in both languages (the page switches language without a round trip)."""
    return {"zh": translate(key, "zh-CN", **params), "en": translate(key, "en", **params)}


def _day(value: datetime | None, tz: str) -> str:
    return local_time(value, tz)[:10]


def _limit(value: int | None) -> str:
    return "" if value is None else str(value)


def _usage_row(key: str, used: int, limit: int | None, note: dict[str, str]) -> dict[str, str]:
    pct = 0 if not limit else min(100, round(used * 100 / limit))
    return {
        "key": key,
        "used": str(used),
        "limit": _limit(limit),
        "pct": str(pct if limit else 0),
        "over": "1" if limit is not None and used > limit else "",
        "near": "1" if limit and used * 5 >= limit * 4 else "",
        "note_zh": note.get("zh", ""),
        "note_en": note.get("en", ""),
    }


def _plan_limits(p: billing.PlanInfo) -> dict[str, str]:
    def lim(v: int | None) -> dict[str, str]:
        return {"zh": "不限", "en": "unlimited"} if v is None else {"zh": str(v), "en": str(v)}

    parts = [
        ("billing_ui.usage_staff", lim(p.max_staff)),
        ("billing_ui.usage_locations", lim(p.max_locations)),
        ("billing_ui.usage_patients", lim(p.max_active_patients)),
        ("billing_ui.usage_messages", lim(p.messages_included)),
    ]
    return {
        lang: " · ".join(f"{translate(k, loc)} {v[lang]}" for k, v in parts)
        for lang, loc in (("zh", "zh-CN"), ("en", "en"))
    }


def _overview_dict(o: billing.BillingOverview, tz: str, now: datetime) -> dict[str, str]:
    plan = o.plan
    if o.status == "trial" and o.trial_ends_at is not None:
        left = max(0, -(-int((o.trial_ends_at - now).total_seconds()) // 86400))
        text = _both("billing_ui.trial_left", days=left, date=_day(o.trial_ends_at, tz))
    elif o.status == "active":
        text = _both(
            "billing_ui.active", start=_day(o.period_start, tz), end=_day(o.period_end, tz)
        )
    elif o.status == "past_due":
        text = _both("billing_ui.past_due", date=_day(o.grace_ends_at, tz))
    elif o.status == "suspended" and o.suspended_until_paid:
        text = _both("billing_ui.suspended_billing")
    elif o.status == "suspended":
        text = _both("billing_ui.suspended_manual")
    else:
        text = {"zh": "", "en": ""}
    return {
        "status": o.status,
        "status_zh": text["zh"],
        "status_en": text["en"],
        "plan_zh": plan.name_zh if plan else "",
        "plan_en": plan.name_en if plan else "",
        "plan_id": str(plan.id) if plan else "",
        "monthly": yuan(plan.monthly_fen) if plan else "",
        "next_estimate": yuan(o.next_invoice_fen) if plan and o.status != "trial" else "",
        "card_brand": o.card.brand if o.card else "",
        "card_last4": o.card.last4 if o.card else "",
        "card_exp": o.card.exp if o.card else "",
        "no_account": "" if o.has_stripe_account else "1",
    }


def _usage_rows(o: billing.BillingOverview) -> list[dict[str, str]]:
    p, u = o.plan, o.usage
    if p is None:
        return []
    note = (
        _both(
            "billing_ui.messages_note",
            included=p.messages_included,
            price=yuan(p.message_overage_fen),
            cap=p.messages_cap,
        )
        if p.messages_cap is not None
        else _both(
            "billing_ui.messages_note_nocap",
            included=p.messages_included,
            price=yuan(p.message_overage_fen),
        )
    )
    return [
        _usage_row("usage_staff", u.staff, p.max_staff, {}),
        _usage_row("usage_locations", u.locations, p.max_locations, {}),
        _usage_row("usage_patients", u.active_patients, p.max_active_patients, {}),
        _usage_row("usage_messages", u.messages, p.messages_included, note),
    ]


def _invoice_dict(r: billing.InvoiceRow, tz: str) -> dict[str, str]:
    period = (
        f"{_day(r.period_start, tz)} – {_day(r.period_end, tz)}"
        if r.period_start and r.period_end
        else ""
    )
    return {
        "id": str(r.id),
        "number": r.number or "—",
        "date": _day(r.created, tz),
        "period": period,
        "amount": yuan(r.total_fen),
        "status": r.status,
    }


def invoice_status_text(status: Any) -> Any:
    """An invoice status (a Var) in the user's language."""
    return rx.match(status, *[(k, t(key)) for k, key in INVOICE_STATUS_KEYS.items()], status)


def _leave_app(url: str) -> Any:
    """A full page load of ``url`` (the card page is served beside the app)."""
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


class BillingPageState(FormMixin, AppState):
    """What the billing page shows; ids the server acts on stay in ``_``-vars."""

    overview: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    usage: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    plans: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    invoices: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    open_invoice: str = ""
    invoice_lines: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    preview_open: bool = False
    preview: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    _preview_plan_id: int | None = None

    def _refresh(self) -> Any:
        tz = self._tenant().timezone
        now = utcnow()

        def read(s: Any, p: Any) -> tuple[Any, Any, Any]:
            return (
                billing.billing_overview(session=s, actor=p, now=now),
                billing.available_plans(session=s, actor=p),
                billing.list_invoices(session=s, actor=p),
            )

        got, ev = self._run(STAFF, read, self._fail)
        if got is None:
            return ev
        overview, plans, invoices = got
        self.overview = _overview_dict(overview, tz, now)
        self.usage = _usage_rows(overview)
        current = overview.plan.id if overview.plan else None
        self.plans = [
            {
                "id": str(p.id),
                "code": p.code,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "monthly": yuan(p.monthly_fen),
                "limits_zh": _plan_limits(p)["zh"],
                "limits_en": _plan_limits(p)["en"],
                "current": "1" if p.id == current else "",
            }
            for p in plans
        ]
        self.invoices = [_invoice_dict(r, tz) for r in invoices]
        return ev

    @rx.event
    def load(self) -> Any:
        """Tenant admins only (others: the usual 404)."""
        self._clear()
        self.preview_open = False
        self.open_invoice = ""
        self.invoice_lines = []
        redirect = self._load(PrincipalKind.STAFF, Permission.BILLING_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    @rx.event
    def open_preview(self, plan_id: str) -> Any:
        """What changing to ``plan_id`` would cost now, before confirming."""
        self._clear()
        wanted = client_id(plan_id)
        if wanted is None:
            return None
        got, ev = self._run(
            STAFF,
            lambda s, p: billing.preview_plan_change(session=s, actor=p, plan_id=wanted),
            self._fail,
        )
        if got is None:
            return ev
        self._preview_plan_id = wanted
        # The service names what is over (in the admin's own language), one per line.
        refused = _both("billing.downgrade_over_limit")
        listed = " ".join(got.overages)
        over = {lang: f"{text} {listed}" for lang, text in refused.items()}
        need_card = _both("billing.card_required")
        self.preview = {
            "old_zh": got.from_plan.name_zh,
            "old_en": got.from_plan.name_en,
            "new_zh": got.to_plan.name_zh,
            "new_en": got.to_plan.name_en,
            "new_monthly": yuan(got.to_plan.monthly_fen),
            "free": "1" if got.in_trial else "",
            "upgrade": "1" if got.net_fen > 0 else "",
            "credit": yuan(-got.credit_fen),
            "charge": yuan(got.charge_fen),
            "total": yuan(got.net_fen),
            "blocked_zh": over["zh"]
            if got.overages
            else (need_card["zh"] if got.card_required else ""),
            "blocked_en": over["en"]
            if got.overages
            else (need_card["en"] if got.card_required else ""),
            "card_required": "1" if got.card_required and not got.overages else "",
        }
        self.preview_open = True
        return ev

    def _refused(self, message: str, fields: dict[str, str]) -> None:
        """A refused change: what is over the new plan's limits is said in full."""
        over = [v for k, v in fields.items() if k != "plan_id"]
        if over:
            message = " ".join([self.tr("billing.downgrade_over_limit"), *over])
        elif fields:
            message = " ".join(fields.values())
        self._fail(message, fields)

    @rx.event
    def set_preview_open(self, value: bool) -> None:
        """Open or close the confirmation."""
        self.preview_open = bool(value)

    @rx.event
    def confirm_change(self) -> Any:
        """Change the plan as previewed (the service checks it again)."""
        self._clear()
        plan_id = self._preview_plan_id
        if plan_id is None:
            return None
        ip, _ua = self._client()
        done, ev = self._run(
            STAFF,
            lambda s, p: billing.change_plan(session=s, actor=p, plan_id=plan_id, ip=ip),
            self._refused,
        )
        if done is None:
            return ev
        self.preview_open = False
        self._preview_plan_id = None
        name = self.preview.get("new_en" if self.lang == "en" else "new_zh", "")
        ev = self._refresh()
        self.notice = self.tr("billing_ui.changed_ok", name=name)
        return ev

    @rx.event
    def update_card(self) -> Any:
        """Go to the Stripe.js card page (signed link, comes back here)."""
        self._clear()
        url, ev = self._run(
            STAFF, lambda s, p: billing.card_page_url(session=s, actor=p), self._fail
        )
        if url is None:
            return ev
        return _leave_app(url)

    @rx.event
    def toggle_invoice(self, invoice_id: str) -> Any:
        """Show or hide one invoice's lines."""
        wanted = client_id(invoice_id)
        if wanted is None or self.open_invoice == str(wanted):
            self.open_invoice = ""
            self.invoice_lines = []
            return None
        got, ev = self._run(
            STAFF,
            lambda s, p: billing.invoice(session=s, actor=p, invoice_id=wanted),
            self._fail,
        )
        if got is None:
            return ev
        self.open_invoice = str(wanted)
        self.invoice_lines = [
            {
                "description": li.description,
                "quantity": str(li.quantity),
                "amount": yuan(li.amount_fen),
            }
            for li in got.lines
        ]
        return ev


# --- view ------------------------------------------------------------------------------


# Each billing status's callout: icon and colour (the text comes from the service).
STATUS_LOOK = (
    ("trial", "clock", "blue"),
    ("active", "circle-check", "green"),
    ("past_due", "triangle-alert", "amber"),
    ("suspended", "lock", "red"),
)


def _status_line() -> rx.Component:
    o = BillingPageState.overview
    text = rx.cond(AppState.lang == "en", o["status_en"], o["status_zh"])
    return rx.match(
        o["status"],
        *[
            (status, rx.callout(text, icon=icon, color_scheme=color, id="billing-status"))
            for status, icon, color in STATUS_LOOK
        ],
        rx.fragment(),
    )


def _plan_card() -> rx.Component:
    s = BillingPageState
    o = s.overview
    en = AppState.lang == "en"
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(t("billing_ui.plan"), color_scheme="gray", size="2"),
                rx.spacer(),
                rx.badge(
                    t_var(
                        "tenant_status", o["status"], ["trial", "active", "past_due", "suspended"]
                    ),
                    color_scheme=rx.match(
                        o["status"],
                        ("active", "green"),
                        ("trial", "blue"),
                        ("past_due", "amber"),
                        "red",
                    ),
                    id="billing-status-badge",
                ),
                width="100%",
            ),
            rx.hstack(
                rx.heading(rx.cond(en, o["plan_en"], o["plan_zh"]), size="6", id="billing-plan"),
                rx.text(o["monthly"], t("signup_ui.per_month"), color_scheme="gray"),
                align="baseline",
                spacing="3",
            ),
            _status_line(),
            rx.cond(
                o["no_account"] == "1",
                rx.text(t("billing_ui.not_configured"), size="1", color_scheme="gray"),
            ),
            rx.cond(
                o["next_estimate"] != "",
                rx.text(
                    t("billing_ui.next_invoice"),
                    ": ",
                    o["next_estimate"],
                    size="2",
                    id="next-estimate",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _usage_view(u: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(
                t_var(
                    "billing_ui",
                    u["key"],
                    ["usage_staff", "usage_locations", "usage_patients", "usage_messages"],
                ),
                size="2",
                weight="medium",
            ),
            rx.spacer(),
            rx.text(
                u["used"],
                t("billing_ui.of"),
                rx.cond(u["limit"] != "", u["limit"], t("billing_ui.unlimited")),
                size="2",
                class_name="usage-numbers",
            ),
            width="100%",
        ),
        # A plain bar (the share is computed by the page from the service's numbers).
        rx.box(
            rx.box(
                width=u["pct"] + "%",
                height="100%",
                border_radius="4px",
                background=rx.cond(
                    u["over"] == "1",
                    rx.color("red", 9),
                    rx.cond(u["near"] == "1", rx.color("amber", 9), rx.color("teal", 9)),
                ),
                class_name="usage-fill",
            ),
            width="100%",
            height="8px",
            border_radius="4px",
            background=rx.color("gray", 4),
            role="progressbar",
            aria_valuenow=u["pct"],
            aria_valuemin="0",
            aria_valuemax="100",
            class_name="usage-bar",
        ),
        rx.cond(
            u["note_zh"] != "",
            rx.text(
                rx.cond(AppState.lang == "en", u["note_en"], u["note_zh"]),
                size="1",
                color_scheme="gray",
            ),
        ),
        spacing="1",
        width="100%",
        id="usage-" + u["key"],
    )


def _usage_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("billing_ui.usage"), size="4"),
            rx.foreach(BillingPageState.usage, _usage_view),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _plan_choice(p: rx.Var[dict[str, str]]) -> rx.Component:
    s = BillingPageState
    en = AppState.lang == "en"
    return rx.card(
        rx.vstack(
            rx.text(rx.cond(en, p["name_en"], p["name_zh"]), weight="bold"),
            rx.text(p["monthly"], t("signup_ui.per_month"), size="2"),
            rx.text(rx.cond(en, p["limits_en"], p["limits_zh"]), size="1", color_scheme="gray"),
            rx.cond(
                p["current"] == "1",
                rx.badge(t("billing_ui.current"), color_scheme="green"),
                rx.button(
                    t("billing_ui.choose"),
                    size="1",
                    variant="soft",
                    on_click=s.open_preview(p["id"]),
                    id="choose-" + p["code"],
                ),
            ),
            spacing="2",
            align="start",
        ),
        id="plan-" + p["code"],
        min_width="180px",
    )


def _preview_dialog() -> rx.Component:
    s = BillingPageState
    pv = s.preview
    en = AppState.lang == "en"

    def line(label: str, value: Any, id: str) -> rx.Component:
        return rx.hstack(
            rx.text(t(label), size="2"), rx.spacer(), rx.text(value, size="2", id=id), width="100%"
        )

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("billing_ui.preview_title")),
            rx.vstack(
                rx.text(
                    rx.cond(en, pv["old_en"], pv["old_zh"]),
                    " → ",
                    rx.cond(en, pv["new_en"], pv["new_zh"]),
                    weight="bold",
                ),
                line("billing_ui.preview_new_price", pv["new_monthly"], "preview-new-price"),
                rx.cond(
                    pv["free"] == "1",
                    rx.text(t("billing_ui.preview_free"), size="2", id="preview-free"),
                    rx.vstack(
                        line("billing_ui.preview_credit", pv["credit"], "preview-credit"),
                        line("billing_ui.preview_charge", pv["charge"], "preview-charge"),
                        rx.divider(),
                        line("billing_ui.preview_total", pv["total"], "preview-total"),
                        rx.text(
                            rx.cond(
                                pv["upgrade"] == "1",
                                t("billing_ui.preview_upgrade"),
                                t("billing_ui.preview_downgrade"),
                            ),
                            size="1",
                            color_scheme="gray",
                        ),
                        width="100%",
                        spacing="2",
                    ),
                ),
                rx.cond(
                    pv["blocked_zh"] != "",
                    rx.callout(
                        rx.cond(en, pv["blocked_en"], pv["blocked_zh"]),
                        icon="circle-alert",
                        color_scheme="red",
                        id="preview-blocked",
                        width="100%",
                    ),
                ),
                form_error(s, where="dialog"),
                rx.hstack(
                    rx.dialog.close(
                        rx.button(t("common.cancel"), variant="soft", color_scheme="gray")
                    ),
                    rx.cond(
                        pv["card_required"] == "1",
                        rx.button(
                            t("billing_ui.update_card"),
                            on_click=s.update_card,
                            id="preview-update-card",
                        ),
                    ),
                    rx.cond(
                        pv["blocked_zh"] == "",
                        rx.button(
                            t("billing_ui.confirm"),
                            on_click=s.confirm_change,
                            id="confirm-change",
                        ),
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            max_width="440px",
        ),
        open=s.preview_open,
        on_open_change=s.set_preview_open,
    )


def _card_card() -> rx.Component:
    s = BillingPageState
    o = s.overview
    return rx.card(
        rx.hstack(
            rx.icon("credit-card", size=20),
            rx.vstack(
                rx.text(t("billing_ui.card"), size="2", color_scheme="gray"),
                rx.cond(
                    o["card_last4"] != "",
                    rx.text(
                        o["card_brand"],
                        " •••• ",
                        o["card_last4"],
                        "  ",
                        o["card_exp"],
                        weight="medium",
                        id="card-on-file",
                    ),
                    rx.text(t("billing_ui.no_card"), id="card-on-file"),
                ),
                spacing="1",
            ),
            rx.spacer(),
            rx.button(t("billing_ui.update_card"), on_click=s.update_card, id="update-card"),
            align="center",
            width="100%",
            spacing="3",
        ),
        width="100%",
    )


def _line_row(li: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(li["description"]),
        rx.table.cell(li["quantity"]),
        rx.table.cell(li["amount"]),
    )


def _invoice_row(inv: rx.Var[dict[str, str]]) -> rx.Component:
    s = BillingPageState
    is_open = s.open_invoice == inv["id"]
    return rx.fragment(
        rx.table.row(
            rx.table.cell(inv["number"]),
            rx.table.cell(inv["date"]),
            rx.table.cell(inv["period"]),
            rx.table.cell(inv["amount"], class_name="invoice-amount"),
            rx.table.cell(
                rx.badge(
                    invoice_status_text(inv["status"]),
                    color_scheme=rx.match(
                        inv["status"], *[(k, v) for k, v in INVOICE_COLORS.items()], "gray"
                    ),
                    class_name="invoice-status",
                )
            ),
            rx.table.cell(
                rx.button(
                    rx.cond(is_open, t("billing_ui.hide_lines"), t("billing_ui.show_lines")),
                    size="1",
                    variant="ghost",
                    on_click=s.toggle_invoice(inv["id"]),
                    id="lines-" + inv["id"],
                )
            ),
            id="invoice-" + inv["id"],
            class_name="invoice-row",
        ),
        rx.cond(
            is_open,
            rx.table.row(
                rx.table.cell(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell(t("billing_ui.line_desc")),
                                rx.table.column_header_cell(t("billing_ui.line_qty")),
                                rx.table.column_header_cell(t("billing_ui.line_amount")),
                            )
                        ),
                        rx.table.body(rx.foreach(s.invoice_lines, _line_row)),
                        size="1",
                        width="100%",
                        id="invoice-lines",
                    ),
                    col_span=6,
                )
            ),
        ),
    )


def _invoices() -> rx.Component:
    s = BillingPageState
    return rx.vstack(
        rx.heading(t("billing_ui.invoices"), size="4"),
        rx.cond(
            s.invoices.length() > 0,  # type: ignore[attr-defined]
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(t(k))
                            for k in (
                                "billing_ui.inv_number",
                                "billing_ui.inv_date",
                                "billing_ui.inv_period",
                                "billing_ui.inv_amount",
                                "billing_ui.inv_status",
                                "billing_ui.inv_lines",
                            )
                        ]
                    )
                ),
                rx.table.body(rx.foreach(s.invoices, _invoice_row)),
                width="100%",
                size="1",
                id="invoices-table",
            ),
            rx.text(t("billing_ui.no_invoices"), color_scheme="gray", id="no-invoices"),
        ),
        width="100%",
        spacing="2",
    )


@page("/admin/billing", title="Billing", on_load=BillingPageState.load)
def billing_page() -> rx.Component:
    """The tenant's plan, usage, card and invoices."""
    s = BillingPageState
    return admin_layout(
        rx.vstack(
            rx.heading(t("billing_ui.title"), size="6"),
            form_error(s),
            _plan_card(),
            rx.grid(_usage_card(), _card_card(), columns="2", spacing="4", width="100%"),
            rx.heading(t("billing_ui.change_plan"), size="4"),
            rx.flex(rx.foreach(s.plans, _plan_choice), wrap="wrap", spacing="3", id="plan-picker"),
            _preview_dialog(),
            _invoices(),
            spacing="4",
            width="100%",
            max_width="1000px",
        ),
        active="billing",
    )
