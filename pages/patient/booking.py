"""The patient's booking flow (mobile first): a package → location, day and slot
with the seats left → add-ons and how to pay → checkout (the hosted pay page, or
straight to the confirmation for pay-at-the-clinic); "my bookings"; and one
booking with its check-in QR code, calendar invitation, pay / cancel / reschedule.

Pages only call services; every handler's arguments are checked there.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error
from components.i18n import t
from components.layout import patient_layout
from components.patient_state import PatientState
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.booking.calendar import bookable_days
from prm_saas.booking.invites import booking_invitation, booking_qr
from prm_saas.booking.schedule import available_slots, get_booking_settings
from prm_saas.booking.services import (
    BookingView,
    booking_detail,
    my_bookings,
    reschedule_by_patient,
)
from prm_saas.booking.waitlist import join_waitlist, leave_waitlist, my_waitlist
from prm_saas.display import local_time, yuan
from prm_saas.mall.storefront import package_detail
from prm_saas.membership.rewards import quote
from prm_saas.orders.services import (
    cancel_order_by_patient,
    checkout,
    my_orders,
    order_detail,
)
from tenants.types import utcnow

PAT = PrincipalKind.PATIENT
WEEKDAYS = {
    "zh-CN": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
# Statuses whose booking still lies ahead (the list shows them first).
UPCOMING = ("held", "confirmed", "checked_in")
STATUS_COLORS = {
    "held": "amber",
    "confirmed": "green",
    "checked_in": "blue",
    "completed": "gray",
    "no_show": "red",
    "cancelled": "gray",
    "expired": "gray",
}


def _path_id(state: AppState, marker: str) -> int | None:
    """The integer path segment after ``marker`` ("/book/12" → 12), else None."""
    parts = [p for p in (state.router.url.path or "").split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == marker:
            try:
                return int(parts[i + 1])
            except ValueError:
                return None
    return None


def _leave_app(url: str) -> Any:
    """A full page load of ``url``: the hosted pay page is served beside the app, and
    the app's router would otherwise look for it among its own pages (same host)."""
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


def _day_label(day: date, lang: str) -> str:
    return f"{day.month:02d}-{day.day:02d} {WEEKDAYS[lang][day.weekday()]}"


def _pick(zh: str, en: str, lang: str) -> str:
    return (en or zh) if lang == "en" else zh


def _day_rows(state: Any, location_id: object) -> list[dict[str, str]]:
    """The location's booking window for a day strip (a page state's helper)."""
    lang = state.lang
    days, _ev = state._run(
        PAT,
        lambda s, _p: bookable_days(session=s, location_id=location_id, now=utcnow()),
        state._fail,
    )
    return [
        {
            "value": d.day.isoformat(),
            "label": _day_label(d.day, lang),
            "open": "1" if d.open else "",
        }
        for d in days or []
    ]


def _status_badge(status: Any, id_: Any) -> rx.Component:
    return rx.match(
        status,
        *[
            (s, rx.badge(t(f"booking.status.{s}"), color_scheme=c, id=id_))
            for s, c in STATUS_COLORS.items()
        ],
        rx.badge(status, id=id_),
    )


# --- /book/<package id> ----------------------------------------------------------------


class BookState(FormMixin, PatientState):
    """Choosing a slot for a package, add-ons and payment, then checking out."""

    package_id: int = 0
    package_name: str = ""
    package_price: str = ""
    sale_price_fen: int = 0
    fasting: bool = False
    locations: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    location_id: str = ""
    days: list[dict[str, str]] = []  # noqa: RUF012
    day: str = ""
    slots: list[dict[str, str]] = []  # noqa: RUF012
    slot_id: str = ""
    addons: list[dict[str, str]] = []  # noqa: RUF012
    chosen_addons: list[str] = []  # noqa: RUF012
    allow_clinic: bool = False
    pay_method: str = "stripe"
    submitting: bool = False
    # One key per visit of the page: a double tap, a retried request or a second
    # tab with the same form makes one order, one booking and one charge.
    idem_key: str = ""
    # The coupon applied and the price with it and the member discount (the
    # service's quote; "" until quoted). Checkout prices the order again itself.
    coupon_code: str = ""
    coupon_error: str = ""
    coupon_off: str = ""
    member_off: str = ""
    quoted_total: str = ""

    def _requote(self) -> None:
        """Ask the service for the price with the coupon and the member discount."""
        self.coupon_off = self.member_off = self.quoted_total = ""
        if not self.location_id:
            return
        addons = [int(a) for a in self.chosen_addons]

        def use_case(code: str) -> Any:
            return lambda s, p: quote(
                session=s,
                actor=p,
                package_id=self.package_id,
                location_id=int(self.location_id),
                addon_item_ids=addons,
                coupon_code=code,
                now=utcnow(),
            )

        errors: list[str] = []
        got, _ev = self._run(PAT, use_case(self.coupon_code), lambda m, _f: errors.append(m))
        if got is None and self.coupon_code:
            # The coupon no longer applies (e.g. an add-on removed under its minimum).
            self.coupon_error, self.coupon_code = (errors or [""])[0], ""
            got, _ev = self._run(PAT, use_case(""), lambda _m, _f: None)
        if got is None:
            return
        self.coupon_code = got.coupon_code  # as stored (typed in any case, with spaces)
        self.coupon_off = yuan(got.coupon_discount_fen) if got.coupon_discount_fen else ""
        self.member_off = yuan(got.member_discount_fen) if got.member_discount_fen else ""
        self.quoted_total = yuan(got.total_fen)

    @rx.event
    def apply_coupon(self, form: dict[str, Any]) -> None:
        """Try a coupon code: the price with it, or why it does not apply."""
        self.coupon_error = ""
        code = form.get("coupon", "") if isinstance(form, dict) else ""
        code = code.strip()[:40] if isinstance(code, str) else ""
        if not code:
            return
        self.coupon_code = code
        self._requote()

    @rx.event
    def remove_coupon(self) -> None:
        """Pay without the coupon."""
        self.coupon_code = self.coupon_error = ""
        self._requote()

    @rx.var
    def total_label(self) -> str:
        """The price of the package with the chosen add-ons."""
        extra = sum(int(a["price_fen"]) for a in self.addons if a["id"] in self.chosen_addons)
        return yuan(self.sale_price_fen + extra)

    @rx.event
    def load(self) -> Any:
        """The package (published only), where it is offered, the first location's days."""
        self._clear()
        self.slots, self.days, self.slot_id, self.day = [], [], "", ""
        self.chosen_addons, self.pay_method, self.submitting = [], "stripe", False
        self.idem_key = uuid.uuid4().hex
        self.coupon_code = self.coupon_error = ""
        self.coupon_off = self.member_off = self.quoted_total = ""
        redirect = self._load(PAT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        pid = _path_id(self, "book")
        if pid is None:
            self.page_status = "not_found"
            return None
        lang = self.lang

        def use_case(s: Any, _p: Any) -> Any:
            return package_detail(session=s, package_id=pid), get_booking_settings(session=s)

        got, ev = self._run(PAT, use_case, self._fail)
        if ev is not None:
            return ev
        if got is None:
            self.page_status = "not_found"
            return None
        detail, policy = got
        card = detail.card
        self.package_id = card.id
        self.package_name = _pick(card.name_zh, card.name_en, lang)
        self.sale_price_fen = card.sale_price_fen
        self.package_price = yuan(card.sale_price_fen)
        self.fasting = card.fasting_required
        self.allow_clinic = bool(policy.allow_pay_at_clinic)
        self.locations = [
            {
                "id": str(loc.id),
                "name": _pick(loc.name_zh, loc.name_en, lang),
                "address": loc.address,
            }
            for loc in detail.locations
        ]
        self.addons = [
            {
                "id": str(a.item_id),
                "name": _pick(a.name_zh, a.name_en, lang),
                "price": yuan(a.price_fen),
                "price_fen": str(a.price_fen),
            }
            for a in detail.addons
        ]
        if self.locations:
            return self.choose_location(self.locations[0]["id"])
        return self._refresh_unread()

    def _load_days(self) -> None:
        self.days = _day_rows(self, self.location_id)
        first_open = next((d["value"] for d in self.days if d["open"]), "")
        self.day = first_open

    def _load_slots(self) -> None:
        self.slots, self.slot_id = [], ""
        if not self.day or not self.location_id:
            return
        try:
            day = date.fromisoformat(self.day)
        except ValueError:
            return
        views, _ev = self._run(
            PAT,
            lambda s, _p: available_slots(
                session=s,
                location_id=int(self.location_id),
                day=day,
                package_id=self.package_id,
                now=utcnow(),
            ),
            self._fail,
        )
        self.slots = [
            {
                "id": str(v.id),
                "label": f"{v.local_start}–{v.local_end}",
                "remaining": str(v.remaining),
                "bookable": "1" if v.bookable else "",
                "full": "1" if v.full else "",
                "reason": self.tr(v.reason) if v.reason else "",
            }
            for v in views or []
        ]

    @rx.event
    def choose_location(self, location_id: str) -> Any:
        """Pick a location: its open days, the first open day's slots."""
        self._clear()
        if str(location_id) not in {loc["id"] for loc in self.locations}:
            return None
        self.location_id = str(location_id)
        self._load_days()
        self._load_slots()
        self._requote()
        return None

    @rx.event
    def choose_day(self, day: str) -> None:
        """Pick a day: its slots with the seats left."""
        self._clear()
        if not any(d["value"] == day and d["open"] for d in self.days):
            return
        self.day = day
        self._load_slots()

    @rx.event
    def choose_slot(self, slot_id: str) -> None:
        """Pick a slot (the server checks it again at checkout)."""
        self._clear()
        if any(s["id"] == str(slot_id) and s["bookable"] for s in self.slots):
            self.slot_id = str(slot_id)

    @rx.event
    def toggle_addon(self, item_id: str) -> None:
        """Add or remove an add-on."""
        item_id = str(item_id)
        if item_id not in {a["id"] for a in self.addons}:
            return
        if item_id in self.chosen_addons:
            self.chosen_addons = [a for a in self.chosen_addons if a != item_id]
        else:
            self.chosen_addons = [*self.chosen_addons, item_id]
        self._requote()

    @rx.event
    def set_pay_method(self, method: str) -> None:
        """Online payment or at the clinic."""
        if method in ("stripe", "clinic"):
            self.pay_method = method

    @rx.event
    def join_wait(self, slot_id: str) -> Any:
        """Join a full slot's waiting list."""
        self._clear()
        addons = [int(a) for a in self.chosen_addons]

        def use_case(s: Any, p: Any) -> Any:
            return join_waitlist(
                session=s,
                actor=p,
                slot_id=slot_id,  # type: ignore[arg-type]  # any value: the service checks it
                package_id=self.package_id,
                addon_item_ids=addons,
                now=utcnow(),
            )

        done, ev = self._run(PAT, use_case, self._fail)
        if ev is not None:
            return ev
        if done is not None:
            self.notice = self.tr("booking.waitlist_joined")
        return None

    @rx.event
    def submit(self) -> Any:
        """Checkout: seat and order in one transaction; then pay or see the booking."""
        self._clear()
        if not self.slot_id:
            self.error = self.tr("booking.choose_slot")
            return None
        addons = [int(a) for a in self.chosen_addons]
        self.submitting = True

        def use_case(s: Any, p: Any) -> Any:
            return checkout(
                session=s,
                actor=p,
                package_id=self.package_id,
                location_id=int(self.location_id or 0),
                slot_id=int(self.slot_id),
                addon_item_ids=addons,
                payment_method=self.pay_method,
                idempotency_key=self.idem_key,
                now=utcnow(),
                coupon_code=self.coupon_code,
            )

        result, ev = self._run(PAT, use_case, self._fail)
        self.submitting = False
        if ev is not None:
            return ev
        if result is None:
            self._load_slots()  # a full slot or a closed day: show the fresh picture
            return None
        if result.pay_url:
            return _leave_app(result.pay_url)
        return rx.redirect(f"{self.base_path}/bookings/{result.booking_id}")


def _chip(label: Any, selected: Any, disabled: Any, on_click: Any, id_: Any) -> rx.Component:
    return rx.button(
        label,
        variant=rx.cond(selected, "solid", "outline"),
        disabled=disabled,
        on_click=on_click,
        id=id_,
        size="2",
        min_height="40px",
        white_space="nowrap",
    )


def _day_strip(days: Any, selected: Any, on_pick: Any, prefix: str) -> rx.Component:
    """A row of day chips (closed days disabled), scrolling sideways on a phone."""
    return rx.hstack(
        rx.foreach(
            days,
            lambda d: _chip(
                d["label"],
                selected == d["value"],
                d["open"] == "",
                on_pick(d["value"]),
                prefix + d["value"],
            ),
        ),
        overflow_x="auto",
        width="100%",
        padding_bottom="4px",
        spacing="2",
    )


def _slot_cell(sl: rx.Var[dict[str, str]]) -> rx.Component:
    s = BookState
    return rx.cond(
        sl["bookable"] != "",
        rx.button(
            rx.vstack(
                rx.text(sl["label"], size="2", weight="bold"),
                rx.text(t("booking.seats_left"), " ", sl["remaining"], size="1"),
                spacing="0",
                align="center",
            ),
            variant=rx.cond(s.slot_id == sl["id"], "solid", "outline"),
            on_click=s.choose_slot(sl["id"]),
            id="slot-" + sl["id"],
            height="56px",
            width="100%",
        ),
        rx.vstack(
            rx.text(sl["label"], size="2", color_scheme="gray"),
            rx.cond(
                sl["full"] != "",
                rx.button(
                    t("booking.join_waitlist"),
                    size="1",
                    variant="soft",
                    color_scheme="amber",
                    on_click=s.join_wait(sl["id"]),
                    id="waitlist-" + sl["id"],
                ),
                rx.text(sl["reason"], size="1", color_scheme="gray"),
            ),
            spacing="1",
            align="center",
            justify="center",
            height="56px",
            width="100%",
            border=f"1px dashed {rx.color('gray', 6)}",
            border_radius="8px",
            id="slot-" + sl["id"],
            data_full=sl["full"],
        ),
    )


def _section(title_key: str, *children: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(t(title_key), weight="bold", size="3"),
        *children,
        spacing="2",
        width="100%",
    )


def _coupon_section() -> rx.Component:
    """The coupon field and the discounts the quote gave."""
    s = BookState
    return _section(
        "mycheckout.coupon",
        rx.cond(
            s.coupon_code != "",
            rx.hstack(
                rx.badge(s.coupon_code, size="2", id="coupon-applied"),
                rx.spacer(),
                rx.text("-", s.coupon_off, size="2", color=rx.color("red", 10), id="coupon-off"),
                rx.button(
                    t("mycheckout.remove"),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=s.remove_coupon,
                    id="coupon-remove",
                ),
                width="100%",
                align="center",
            ),
            rx.form(
                rx.hstack(
                    rx.input(
                        name="coupon",
                        id="coupon-input",
                        placeholder=t("mycheckout.coupon_placeholder"),
                        size="3",
                        flex="1",
                        max_length=40,
                    ),
                    rx.button(
                        t("mycheckout.apply"),
                        type="submit",
                        size="3",
                        variant="soft",
                        id="coupon-apply",
                    ),
                    width="100%",
                ),
                on_submit=s.apply_coupon,
                width="100%",
            ),
        ),
        rx.cond(
            s.coupon_error != "",
            rx.text(s.coupon_error, size="1", color_scheme="red", id="coupon-error"),
        ),
        rx.cond(
            s.member_off != "",
            rx.hstack(
                rx.text(t("mycheckout.member_discount"), size="2"),
                rx.spacer(),
                rx.text("-", s.member_off, size="2", color=rx.color("red", 10)),
                width="100%",
                id="member-discount",
            ),
        ),
        rx.link(
            t("mycheckout.my_coupons"), href=AppState.base_path + "/rewards?tab=coupons", size="1"
        ),
    )


@page("/book/[package_id]", title="Book", on_load=BookState.load)
def book_page() -> rx.Component:
    """Choose location, day, slot, add-ons and payment, then check out."""
    s = BookState
    return patient_layout(
        rx.vstack(
            rx.heading(s.package_name, size="5", id="book-package"),
            rx.hstack(
                rx.text(s.package_price, color=AppState.tenant_color, weight="bold"),
                rx.cond(s.fasting, rx.badge(t("mall.fasting"), color_scheme="orange")),
                spacing="2",
                align="center",
            ),
            form_error(s),
            _section(
                "booking.location",
                rx.foreach(
                    s.locations,
                    lambda loc: rx.box(
                        rx.text(loc["name"], weight="bold"),
                        rx.text(loc["address"], size="1", color_scheme="gray"),
                        on_click=s.choose_location(loc["id"]),
                        id="location-" + loc["id"],
                        padding="10px 12px",
                        border_radius="8px",
                        border=rx.cond(
                            s.location_id == loc["id"],
                            f"2px solid {rx.color('teal', 9)}",
                            f"1px solid {rx.color('gray', 5)}",
                        ),
                        cursor="pointer",
                        width="100%",
                    ),
                ),
            ),
            _section(
                "booking.day",
                _day_strip(s.days, s.day, s.choose_day, "day-"),
            ),
            _section(
                "booking.slot",
                rx.cond(
                    s.slots.length() > 0,  # type: ignore[attr-defined]
                    rx.grid(
                        rx.foreach(s.slots, _slot_cell),
                        columns="3",
                        spacing="2",
                        width="100%",
                    ),
                    rx.text(t("booking.no_slots"), color_scheme="gray", id="no-slots"),
                ),
            ),
            rx.cond(
                s.addons.length() > 0,  # type: ignore[attr-defined]
                _section(
                    "booking.addons",
                    rx.foreach(
                        s.addons,
                        lambda a: rx.hstack(
                            rx.checkbox(
                                a["name"],
                                checked=s.chosen_addons.contains(a["id"]),  # type: ignore[attr-defined]
                                on_change=lambda _v: s.toggle_addon(a["id"]),
                                id="addon-" + a["id"],
                            ),
                            rx.spacer(),
                            rx.text("+", a["price"], size="2"),
                            width="100%",
                        ),
                    ),
                ),
            ),
            _section(
                "booking.payment",
                rx.radio_group.root(
                    rx.vstack(
                        rx.radio_group.item(
                            t("booking.pay_online"), value="stripe", id="pay-stripe"
                        ),
                        rx.cond(
                            s.allow_clinic,
                            rx.radio_group.item(
                                t("booking.pay_clinic"), value="clinic", id="pay-clinic"
                            ),
                        ),
                        spacing="2",
                    ),
                    value=s.pay_method,
                    on_change=s.set_pay_method,
                ),
            ),
            _coupon_section(),
            rx.hstack(
                rx.text(
                    t("booking.total"),
                    " ",
                    rx.cond(s.quoted_total != "", s.quoted_total, s.total_label),
                    weight="bold",
                    id="book-total",
                ),
                rx.spacer(),
                rx.button(
                    t("booking.submit"),
                    on_click=s.submit,
                    loading=s.submitting,
                    disabled=s.slot_id == "",
                    size="3",
                    id="book-submit",
                ),
                width="100%",
                align="center",
                padding_top="8px",
                border_top=f"1px solid {rx.color('gray', 4)}",
            ),
            spacing="4",
            width="100%",
        ),
        active="mall",
    )


# --- /bookings ---------------------------------------------------------------------------


class MyBookingsState(FormMixin, PatientState):
    """The patient's bookings and waiting-list places."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    waiting: list[dict[str, str]] = []  # noqa: RUF012

    @rx.event
    def load(self) -> Any:
        """Upcoming first, then the rest, newest first."""
        self._clear()
        redirect = self._load(PAT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        lang = self.lang

        def use_case(s: Any, p: Any) -> Any:
            return my_bookings(session=s, actor=p), my_waitlist(session=s, actor=p)

        got, ev = self._run(PAT, use_case, self._fail)
        if ev is not None:
            return ev
        views, waits = got or ([], [])
        upcoming = sorted((v for v in views if v.status in UPCOMING), key=lambda v: v.starts_at)
        ordered = upcoming + [v for v in views if v.status not in UPCOMING]
        self.rows = [_row(v, lang) for v in ordered]
        # Places still waiting (an offered seat is a held booking in the list above).
        self.waiting = [
            {
                "id": str(w.id),
                "position": str(w.position),
                "package": _pick(w.package_name_zh, w.package_name_en, lang),
                "when": f"{w.day.isoformat()} {w.local_start}–{w.local_end}",
            }
            for w in waits
            if w.status == "waiting"
        ]
        return self._refresh_unread()

    @rx.event
    def leave(self, entry_id: str) -> Any:
        """Leave a waiting list."""
        return self._act(
            PAT,
            lambda s, p: leave_waitlist(session=s, actor=p, entry_id=entry_id, now=utcnow()),  # type: ignore[arg-type]  # any value: the service checks it
            "booking.waitlist_left",
            self.load,
        )


def _row(v: BookingView, lang: str) -> dict[str, str]:
    return {
        "id": str(v.id),
        "status": v.status,
        "package": _pick(v.package_name_zh, v.package_name_en, lang),
        "location": _pick(v.location_name_zh, v.location_name_en, lang),
        "when": f"{v.day.isoformat()} {v.local_start}–{v.local_end}",
    }


def _waiting_row(w: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.text(w["package"], weight="bold", size="2"),
                rx.text(w["when"], size="2"),
                rx.text(t("booking.waitlist_position"), " ", w["position"], size="1"),
                spacing="0",
                flex="1",
            ),
            rx.button(
                t("booking.waitlist_leave"),
                size="1",
                variant="soft",
                color_scheme="gray",
                on_click=MyBookingsState.leave(w["id"]),
                id="leave-waitlist-" + w["id"],
            ),
            align="center",
            width="100%",
        ),
        id="waiting-" + w["id"],
        width="100%",
        background=rx.color("amber", 2),
    )


def _booking_card(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text(r["package"], weight="bold", flex="1"),
                    _status_badge(r["status"], "status-" + r["id"]),
                    width="100%",
                ),
                rx.text(r["when"], size="2"),
                rx.text(r["location"], size="1", color_scheme="gray"),
                spacing="1",
                width="100%",
            ),
            width="100%",
        ),
        href=AppState.base_path + "/bookings/" + r["id"],
        id="booking-" + r["id"],
        underline="none",
        width="100%",
    )


@page("/bookings", title="My bookings", on_load=MyBookingsState.load)
def my_bookings_page() -> rx.Component:
    """The patient's bookings."""
    s = MyBookingsState
    return patient_layout(
        rx.vstack(
            rx.heading(t("booking.my_title"), size="6"),
            form_error(s),
            rx.cond(
                s.waiting.length() > 0,  # type: ignore[attr-defined]
                rx.vstack(
                    rx.text(t("booking.waitlist_title"), weight="bold"),
                    rx.foreach(s.waiting, _waiting_row),
                    spacing="2",
                    width="100%",
                    id="waitlist-note",
                ),
            ),
            rx.cond(
                s.rows.length() > 0,  # type: ignore[attr-defined]
                rx.vstack(rx.foreach(s.rows, _booking_card), spacing="2", width="100%"),
                rx.center(
                    rx.vstack(
                        rx.icon("calendar-x", size=40, color=rx.color("gray", 8)),
                        rx.text(t("booking.none"), color_scheme="gray"),
                        rx.link(t("booking.browse_mall"), href=AppState.base_path + "/mall"),
                        align="center",
                        spacing="2",
                    ),
                    padding_y="48px",
                    width="100%",
                    id="bookings-empty",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        active="bookings",
    )


# --- /bookings/<id> ------------------------------------------------------------------------


class BookingDetailState(FormMixin, PatientState):
    """One booking: where and when, its QR code and invitation, pay, cancel, move."""

    booking_id: int = 0
    status: str = ""
    package: str = ""
    location: str = ""
    address: str = ""
    when: str = ""
    instructions: str = ""
    checkin_code: str = ""
    qr: str = ""
    hold_until: str = ""
    order_number: str = ""
    order_status: str = ""
    order_total: str = ""
    pay_url: str = ""
    refund_note: str = ""
    can_change: bool = False
    confirm_cancel: bool = False
    days: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    day: str = ""
    slots: list[dict[str, str]] = []  # noqa: RUF012
    new_slot_id: str = ""
    location_id: int = 0
    moving: bool = False

    def _fetch(self) -> None:
        lang = self.lang
        bid = self.booking_id

        def use_case(s: Any, p: Any) -> Any:
            view = booking_detail(session=s, actor=p, booking_id=bid)
            qr = booking_qr(session=s, actor=p, booking_id=bid)
            orders = [o for o in my_orders(session=s, actor=p) if o.booking_id == bid]
            detail = order_detail(session=s, actor=p, order_id=orders[0].id) if orders else None
            return view, qr, detail

        got, _ev = self._run(PAT, use_case, self._fail)
        if got is None:
            self.page_status = "not_found"
            return
        view, qr, detail = got
        tz = view.timezone
        self.status = view.status
        self.package = _pick(view.package_name_zh, view.package_name_en, lang)
        self.location = _pick(view.location_name_zh, view.location_name_en, lang)
        self.location_id = view.location_id
        self.address = view.location_address
        self.when = f"{_day_label(view.day, lang)} {view.local_start}–{view.local_end}"
        self.instructions = _pick(view.instructions_zh, view.instructions_en, lang)
        self.checkin_code = view.checkin_code if view.status in ("held", "confirmed") else ""
        self.qr = qr
        self.hold_until = local_time(view.hold_expires_at, tz) if view.status == "held" else ""
        self.can_change = view.status in ("held", "confirmed")
        if detail is not None:
            o = detail.order
            self.order_number, self.order_status = o.number, o.status
            self.order_total = yuan(o.total_fen)
            self.pay_url = detail.pay_url if o.status == "pending_payment" else ""
        else:
            self.order_number = self.order_status = self.order_total = self.pay_url = ""

    @rx.event
    def load(self) -> Any:
        """The booking of the path, if it is the signed-in patient's."""
        self._clear()
        self.confirm_cancel = self.moving = False
        self.slots, self.days, self.new_slot_id = [], [], ""
        redirect = self._load(PAT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        bid = _path_id(self, "bookings")
        if bid is None:
            self.page_status = "not_found"
            return None
        self.booking_id = bid
        self._fetch()
        return self._refresh_unread()

    @rx.event
    def download_invite(self) -> Any:
        """The .ics invitation (REQUEST while it stands, CANCEL once cancelled)."""
        self._clear()
        bid = self.booking_id
        inv, ev = self._run(
            PAT,
            lambda s, p: booking_invitation(session=s, actor=p, booking_id=bid, now=utcnow()),
            self._fail,
        )
        if ev is not None:
            return ev
        if inv is None:
            return None
        return rx.download(
            data=inv.content.decode("utf-8"), filename=inv.filename, mime_type="text/calendar"
        )

    @rx.event
    def ask_cancel(self, yes: bool) -> None:
        """Open or close the cancel confirmation."""
        self._clear()
        self.confirm_cancel = bool(yes)

    @rx.event
    def cancel(self) -> Any:
        """Cancel under the tenant's policy; paid orders are refunded by its share."""
        self._clear()
        self.confirm_cancel = False
        bid = self.booking_id
        out, ev = self._run(
            PAT,
            lambda s, p: cancel_order_by_patient(session=s, actor=p, now=utcnow(), booking_id=bid),
            self._fail,
        )
        if ev is not None:
            return ev
        if out is not None:
            self.notice = self.tr("booking.cancelled_notice", refund=yuan(out.refunded_fen))
            self._fetch()
        return None

    @rx.event
    def start_move(self) -> None:
        """Show the days and slots to move the booking to."""
        self._clear()
        self.moving = True
        self.days = _day_rows(self, self.location_id)
        self.day, self.slots, self.new_slot_id = "", [], ""

    @rx.event
    def move_day(self, day: str) -> None:
        """Slots of a day to move to."""
        self._clear()
        if not any(d["value"] == day and d["open"] for d in self.days):
            return
        self.day = day
        lid = self.location_id
        views, _ev = self._run(
            PAT,
            lambda s, _p: available_slots(
                session=s, location_id=lid, day=date.fromisoformat(day), now=utcnow()
            ),
            self._fail,
        )
        self.slots = [
            {
                "id": str(v.id),
                "label": f"{v.local_start}–{v.local_end}",
                "bookable": "1" if v.bookable else "",
            }
            for v in views or []
        ]
        self.new_slot_id = ""

    @rx.event
    def move_slot(self, slot_id: str) -> None:
        """Pick the new slot."""
        if any(x["id"] == str(slot_id) and x["bookable"] for x in self.slots):
            self.new_slot_id = str(slot_id)

    @rx.event
    def move(self) -> Any:
        """Reschedule to the chosen slot (the calendar invitation's SEQUENCE goes up)."""
        self._clear()
        bid, new = self.booking_id, self.new_slot_id
        if not new:
            self.error = self.tr("booking.choose_slot")
            return None
        done, ev = self._run(
            PAT,
            lambda s, p: reschedule_by_patient(
                session=s, actor=p, booking_id=bid, new_slot_id=int(new), now=utcnow()
            ),
            self._fail,
        )
        if ev is not None:
            return ev
        if done is not None:
            self.moving = False
            self.notice = self.tr("booking.rescheduled_notice")
            self._fetch()
        return None


def _fact(label_key: str, value: Any, id_: str) -> rx.Component:
    return rx.hstack(
        rx.text(t(label_key), color_scheme="gray", size="2", min_width="72px"),
        rx.text(value, size="2", id=id_),
        width="100%",
        align="start",
    )


@page("/bookings/[booking_id]", title="Booking", on_load=BookingDetailState.load)
def booking_detail_page() -> rx.Component:
    """One booking."""
    s = BookingDetailState
    return patient_layout(
        rx.vstack(
            rx.hstack(
                rx.heading(s.package, size="5", flex="1"),
                _status_badge(s.status, "booking-status"),
                width="100%",
                align="center",
            ),
            form_error(s),
            _fact("booking.when", s.when, "booking-when"),
            _fact("booking.location", s.location, "booking-location"),
            _fact("booking.address", s.address, "booking-address"),
            rx.cond(
                s.order_number != "",
                _fact("booking.order", s.order_number + " · " + s.order_total, "booking-order"),
            ),
            rx.cond(
                s.hold_until != "",
                rx.callout(
                    rx.text(t("booking.hold_until"), " ", s.hold_until),
                    icon="timer",
                    color_scheme="amber",
                    width="100%",
                ),
            ),
            rx.cond(
                s.pay_url != "",
                rx.el.a(
                    rx.button(t("booking.pay_now"), size="3", width="100%"),
                    href=s.pay_url,
                    id="pay-now",
                    width="100%",
                ),
            ),
            rx.cond(
                s.qr != "",
                rx.vstack(
                    rx.image(src=s.qr, width="220px", height="220px", id="checkin-qr"),
                    rx.text(t("booking.show_qr"), size="1", color_scheme="gray"),
                    rx.code(s.checkin_code, id="checkin-code-text"),
                    align="center",
                    width="100%",
                    spacing="1",
                ),
            ),
            rx.cond(
                s.instructions != "",
                rx.callout(
                    s.instructions,
                    icon="info",
                    color_scheme="blue",
                    width="100%",
                    white_space="pre-wrap",
                ),
            ),
            rx.button(
                rx.icon("calendar-plus", size=16),
                t("booking.add_calendar"),
                variant="soft",
                on_click=s.download_invite,
                id="download-ics",
                width="100%",
            ),
            rx.cond(
                s.can_change,
                rx.hstack(
                    rx.button(
                        t("booking.reschedule"),
                        variant="outline",
                        on_click=s.start_move,
                        id="reschedule-booking",
                        flex="1",
                    ),
                    rx.button(
                        t("booking.cancel"),
                        variant="outline",
                        color_scheme="red",
                        on_click=s.ask_cancel(True),
                        id="cancel-booking",
                        flex="1",
                    ),
                    width="100%",
                ),
            ),
            rx.cond(
                s.confirm_cancel,
                rx.card(
                    rx.vstack(
                        rx.text(t("booking.cancel_confirm")),
                        rx.hstack(
                            rx.button(
                                t("booking.cancel_yes"),
                                color_scheme="red",
                                on_click=s.cancel,
                                id="cancel-yes",
                            ),
                            rx.button(
                                t("booking.cancel_no"),
                                variant="soft",
                                on_click=s.ask_cancel(False),
                            ),
                        ),
                    ),
                    width="100%",
                ),
            ),
            rx.cond(
                s.moving,
                rx.vstack(
                    _day_strip(s.days, s.day, s.move_day, "move-day-"),
                    rx.grid(
                        rx.foreach(
                            s.slots,
                            lambda x: _chip(
                                x["label"],
                                s.new_slot_id == x["id"],
                                x["bookable"] == "",
                                s.move_slot(x["id"]),
                                "move-slot-" + x["id"],
                            ),
                        ),
                        columns="3",
                        spacing="2",
                        width="100%",
                    ),
                    rx.button(
                        t("booking.reschedule_confirm"),
                        on_click=s.move,
                        disabled=s.new_slot_id == "",
                        id="reschedule-submit",
                        width="100%",
                    ),
                    width="100%",
                    spacing="2",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        active="bookings",
    )
