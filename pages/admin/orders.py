"""Orders (ORDERS_MANAGE): the list with a status filter and a search by order
number / phone / name, an order's lines, payments and refunds, the refund dialog
(an amount in yuan becomes exact fen in the service) and recording a payment at
the clinic."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, field, form_dialog, form_error, form_str
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import local_time
from prm_saas.orders import services as orders
from tenants.types import utcnow

STATUSES = [
    "pending_payment",
    "paid",
    "partially_refunded",
    "refunded",
    "cancelled",
    "expired",
]
METHODS = ["stripe", "clinic"]


class OrdersPageState(FormMixin, AppState):
    """The order list, the selected order and the refund dialog."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    status_filter: str = ""
    search_text: str = ""
    selected: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    lines: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    payments: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    refunds: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    refund_open: bool = False
    has_detail: bool = False
    row_count: int = 0
    _refund_key: str = ""

    def _refresh(self) -> Any:
        tz = self._tenant().timezone
        status, query = self.status_filter, self.search_text

        def rows(session: Any, actor: Any) -> list[dict[str, str]]:
            return [
                {
                    "id": str(o.id),
                    "number": o.number,
                    "patient": o.patient_name,
                    "phone": o.patient_phone,
                    "status": o.status,
                    "method": o.payment_method,
                    "total": orders.yuan(o.total_fen),
                    "paid": orders.yuan(o.paid_fen),
                    "refunded": orders.yuan(o.refunded_fen),
                    "created": local_time(o.created_at, tz),
                }
                for o in orders.list_orders(
                    session=session, actor=actor, status=status, query=query
                )
            ]

        result, ev = self._run(PrincipalKind.STAFF, rows, self._fail)
        if result is not None:
            self.rows = result
            self.row_count = len(result)
        return ev

    def _show(self, order_id: int) -> Any:
        tz = self._tenant().timezone

        def detail(session: Any, actor: Any) -> orders.OrderDetail:
            return orders.admin_order_detail(session=session, actor=actor, order_id=order_id)

        d, ev = self._run(PrincipalKind.STAFF, detail, self._fail)
        if d is None:
            self.selected = {}
            self.has_detail = False
            return ev
        self.has_detail = True
        o = d.order
        self.selected = {
            "id": str(o.id),
            "number": o.number,
            "patient": o.patient_name,
            "phone": o.patient_phone,
            "status": o.status,
            "method": o.payment_method,
            "total": orders.yuan(o.total_fen),
            "paid": orders.yuan(o.paid_fen),
            "refunded": orders.yuan(o.refunded_fen),
            "refundable": orders.yuan(d.refundable_fen),
            "can_refund": "1" if d.refundable_fen > 0 else "",
            "can_mark_paid": (
                "1" if o.payment_method == "clinic" and o.status == "pending_payment" else ""
            ),
            "booking": str(o.booking_id or ""),
            "created": local_time(o.created_at, tz),
            "paid_at": local_time(o.paid_at, tz),
            "expires": local_time(o.expires_at, tz),
        }
        self.lines = [
            {
                "name": ln.name,
                "kind": ln.kind,
                "unit": orders.yuan(ln.unit_price_fen),
                "qty": str(ln.quantity),
                "amount": orders.yuan(ln.amount_fen),
            }
            for ln in d.lines
        ]
        self.payments = [
            {
                "method": p.method,
                "ref": p.provider_ref,
                "status": p.status,
                "amount": orders.yuan(p.amount_fen),
                "at": local_time(p.created_at, tz),
            }
            for p in d.payments
        ]
        self.refunds = [
            {
                "amount": orders.yuan(r.amount_fen),
                "reason": r.reason,
                "status": r.status,
                "ref": r.provider_ref,
                "at": local_time(r.created_at, tz),
            }
            for r in d.refunds
        ]
        return ev

    @rx.event
    def load(self) -> Any:
        """Admins with ORDERS_MANAGE only; others get the 404 page."""
        self._clear()
        self.refund_open = False
        self.selected = {}
        self.has_detail = False
        redirect = self._load(PrincipalKind.STAFF, Permission.ORDERS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        wanted = self.router.url.query_parameters.get("order", "")
        if isinstance(wanted, str) and wanted.isdigit():
            self._show(int(wanted))
        return self._refresh()

    @rx.event
    def search(self, form: dict[str, Any]) -> Any:
        """Filter by status and search by number / phone / name."""
        self._clear()
        status = form_str(form, "status")
        self.status_filter = status if status in STATUSES else ""
        self.search_text = form_str(form, "q").strip()[:60]
        return self._refresh()

    @rx.event
    def select(self, order_id: str) -> Any:
        """Show one order."""
        self._clear()
        if not str(order_id).isdigit():
            return None
        return self._show(int(order_id))

    @rx.event
    def close_detail(self) -> None:
        """Back to the list."""
        self.selected = {}
        self.has_detail = False
        self._clear()

    @rx.event
    def set_refund_open(self, value: bool) -> None:
        """Open or close the refund dialog; each opening is one refund (its key)."""
        self.refund_open = bool(value)
        self.field_errors = {}
        if self.refund_open:
            self._refund_key = uuid.uuid4().hex

    @rx.event
    def do_refund(self, form: dict[str, Any]) -> Any:
        """Refund the amount typed (yuan) of the selected order."""
        self._clear()
        oid = self.selected.get("id", "")
        if not oid.isdigit():
            return None
        amount_text, reason = form_str(form, "amount"), form_str(form, "reason")
        key = self._refund_key or uuid.uuid4().hex

        def refund(session: Any, actor: Any) -> orders.RefundRow:
            return orders.refund(
                session=session,
                actor=actor,
                order_id=int(oid),
                amount_fen=orders.parse_yuan(amount_text),
                reason=reason,
                idempotency_key=key,
                now=self._now(),
            )

        done, ev = self._run(PrincipalKind.STAFF, refund, self._fail)
        if done is None:
            return ev
        self.refund_open = False
        self._refund_key = ""
        self._show(int(oid))
        self.notice = self.tr("orders.admin.refund_done", amount=orders.yuan(done.amount_fen))
        return ev or self._refresh()

    @rx.event
    def mark_clinic_paid(self) -> Any:
        """Record the front desk taking the money for a pay-at-the-clinic order."""
        oid = self.selected.get("id", "")
        if not oid.isdigit():
            return None
        return self._act(
            PrincipalKind.STAFF,
            lambda s, p: orders.mark_clinic_paid(
                session=s, actor=p, order_id=int(oid), now=self._now()
            ),
            "orders.admin.clinic_paid_done",
            lambda: self._reload(int(oid)),
        )

    def _reload(self, order_id: int) -> Any:
        self._show(order_id)
        return self._refresh()

    def _now(self) -> datetime:
        return utcnow()


def _status_badge(status: Any) -> rx.Component:
    return rx.badge(
        t_var("orders.status", status, STATUSES),
        color_scheme=rx.match(
            status,
            ("paid", "green"),
            ("pending_payment", "blue"),
            ("partially_refunded", "amber"),
            ("refunded", "gray"),
            "red",
        ),
    )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = OrdersPageState
    return rx.table.row(
        rx.table.cell(
            rx.link(r["number"], on_click=s.select(r["id"]), cursor="pointer"),
        ),
        rx.table.cell(rx.vstack(rx.text(r["patient"]), rx.text(r["phone"], size="1"), spacing="0")),
        rx.table.cell(_status_badge(r["status"])),
        rx.table.cell(t_var("orders.method", r["method"], METHODS)),
        rx.table.cell("¥" + r["total"]),
        rx.table.cell("¥" + r["paid"]),
        rx.table.cell("¥" + r["refunded"]),
        rx.table.cell(r["created"]),
        id="order-" + r["number"],
    )


def _filters() -> rx.Component:
    s = OrdersPageState
    return rx.form(
        rx.hstack(
            rx.el.select(
                rx.el.option(t("orders.admin.all_statuses"), value=""),
                *[rx.el.option(t(f"orders.status.{k}"), value=k) for k in STATUSES],
                name="status",
                id="f-status",
                default_value=s.status_filter,
                style={"padding": "6px", "borderRadius": "6px"},
            ),
            rx.input(
                name="q",
                id="f-q",
                placeholder=t("orders.admin.search"),
                default_value=s.search_text,
                width="280px",
            ),
            rx.button(rx.icon("search", size=14), t("common.search"), type="submit", id="search"),
            spacing="2",
        ),
        on_submit=s.search,
    )


def _refund_dialog() -> rx.Component:
    s = OrdersPageState
    return form_dialog(
        s,
        open_var=s.refund_open,
        on_open_change=s.set_refund_open,
        on_submit=s.do_refund,
        trigger=rx.button(
            rx.icon("undo-2", size=14), t("orders.admin.refund"), color_scheme="red", id="refund"
        ),
        title="orders.admin.refund",
        fields=[
            rx.text(t("orders.admin.refundable"), ": ¥", s.selected["refundable"], id="refundable"),
            field(s, "orders.admin.refund_amount", "amount", placeholder="0.00"),
            field(s, "orders.admin.refund_reason", "reason"),
        ],
        submit_key="orders.admin.refund",
        submit_id="do-refund",
    )


def _small_table(headers: list[str], rows: Any, cells: Any, table_id: str) -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(h)) for h in headers])),
        rx.table.body(rx.foreach(rows, lambda r: rx.table.row(*cells(r)))),
        size="1",
        width="100%",
        id=table_id,
    )


def _detail() -> rx.Component:
    s = OrdersPageState
    d = s.selected
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(d["number"], size="4", id="order-number"),
                _status_badge(d["status"]),
                rx.spacer(),
                rx.cond(d["can_refund"] == "1", _refund_dialog()),
                rx.cond(
                    d["can_mark_paid"] == "1",
                    rx.button(
                        t("orders.admin.mark_clinic_paid"),
                        on_click=s.mark_clinic_paid,
                        id="mark-clinic-paid",
                    ),
                ),
                rx.button(
                    t("orders.admin.back"), variant="soft", on_click=s.close_detail, id="back"
                ),
                width="100%",
            ),
            rx.text(
                d["patient"],
                " · ",
                d["phone"],
                " · ",
                t("orders.admin.booking"),
                " #",
                d["booking"],
                size="2",
            ),
            rx.hstack(
                rx.text(t("orders.admin.total"), ": ¥", d["total"]),
                rx.text(t("orders.admin.paid"), ": ¥", d["paid"], id="order-paid"),
                rx.text(t("orders.admin.refunded"), ": ¥", d["refunded"], id="order-refunded"),
                spacing="4",
            ),
            rx.heading(t("orders.admin.lines"), size="3"),
            _small_table(
                ["orders.admin.lines", "orders.admin.total"],
                s.lines,
                lambda r: [rx.table.cell(r["name"]), rx.table.cell("¥" + r["amount"])],
                "order-lines",
            ),
            rx.heading(t("orders.admin.payments"), size="3"),
            _small_table(
                ["orders.admin.method", "orders.admin.status", "orders.admin.total"],
                s.payments,
                lambda r: [
                    rx.table.cell(t_var("orders.method", r["method"], METHODS), " ", r["ref"]),
                    rx.table.cell(r["status"]),
                    rx.table.cell("¥" + r["amount"]),
                ],
                "order-payments",
            ),
            rx.heading(t("orders.admin.refunds"), size="3"),
            _small_table(
                ["orders.admin.refunded", "orders.admin.refund_reason", "orders.admin.status"],
                s.refunds,
                lambda r: [
                    rx.table.cell("¥" + r["amount"]),
                    rx.table.cell(r["reason"]),
                    rx.table.cell(r["status"], " ", r["at"]),
                ],
                "order-refunds",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="order-detail",
    )


@page("/admin/orders", title="Orders", on_load=OrdersPageState.load)
def orders_page() -> rx.Component:
    """The tenant's orders."""
    s = OrdersPageState
    return admin_layout(
        rx.vstack(
            rx.hstack(rx.heading(t("orders.admin.title"), size="6"), rx.spacer(), width="100%"),
            form_error(s),
            rx.cond(s.has_detail, _detail()),
            _filters(),
            rx.cond(
                s.row_count > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(t("orders.admin.number")),
                            rx.table.column_header_cell(t("orders.admin.patient")),
                            rx.table.column_header_cell(t("orders.admin.status")),
                            rx.table.column_header_cell(t("orders.admin.method")),
                            rx.table.column_header_cell(t("orders.admin.total")),
                            rx.table.column_header_cell(t("orders.admin.paid")),
                            rx.table.column_header_cell(t("orders.admin.refunded")),
                            rx.table.column_header_cell(t("orders.admin.created")),
                        )
                    ),
                    rx.table.body(rx.foreach(s.rows, _row)),
                    width="100%",
                    size="1",
                    id="orders-table",
                ),
                rx.text(t("orders.admin.empty"), color_scheme="gray", id="orders-empty"),
            ),
            spacing="4",
            width="100%",
        ),
        active="orders",
    )
