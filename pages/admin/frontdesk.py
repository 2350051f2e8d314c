"""The front desk (staff and admins): one location's day, slot by slot, with
check-in by code (what the booking's QR code holds) or by patient search,
no-show, complete, and walk-ins (with an audited capacity override)."""

from __future__ import annotations

import dataclasses
import zoneinfo
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, form_error, form_str
from components.i18n import t
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import PrincipalKind
from prm_saas.booking import frontdesk as fd
from prm_saas.booking import schedule
from prm_saas.display import local_time
from tenants.db import TenantSession

# Booking statuses and their labels (booking's catalog).
STATUS_LABELS = {
    "held": "booking.status.held",
    "confirmed": "booking.status.confirmed",
    "checked_in": "booking.status.checked_in",
    "completed": "booking.status.completed",
    "no_show": "booking.status.no_show",
    "cancelled": "booking.status.cancelled",
    "expired": "booking.status.expired",
}
STATUS_COLORS = (
    ("held", "amber"),
    ("confirmed", "blue"),
    ("checked_in", "green"),
    ("completed", "teal"),
    ("no_show", "red"),
)
# Query parameters a check-in URL may carry the code in (a scanner app may open or
# paste the whole link instead of the bare code).
CODE_PARAMS = ("code", "checkin", "checkin_code", "c")
MAX_CODE_INPUT = 500


def extract_checkin_code(text: str) -> str:
    """The check-in code in what a scanner typed or pasted: the bare code, or a URL
    holding it as a query parameter (``?code=...``) or as its last path segment."""
    raw = (text or "").strip()[:MAX_CODE_INPUT]
    if "://" not in raw and not raw.startswith("/"):
        return raw
    parts = urlsplit(raw)
    query = parse_qs(parts.query)
    for name in CODE_PARAMS:
        values = query.get(name)
        if values and values[0].strip():
            return values[0].strip()
    segments = [p for p in parts.path.split("/") if p]
    return segments[-1] if segments else ""


def _int(value: Any) -> int | None:
    """An id a client sent, or None (handlers are a public API)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclasses.dataclass
class BookingRow:
    """One booking as the desk sees it."""

    id: str = ""
    patient: str = ""
    phone: str = ""
    package_zh: str = ""
    package_en: str = ""
    status: str = ""
    walk_in: bool = False
    override: str = ""
    checked_in_at: str = ""


@dataclasses.dataclass
class SlotRow:
    """One slot of the day and its bookings."""

    id: str = ""
    time: str = ""
    booked: int = 0
    capacity: int = 0
    full: bool = False
    bookings: list[BookingRow] = dataclasses.field(default_factory=list)


def _hm(value: datetime | None, tz: str) -> str:
    return local_time(value, tz)[-5:]


class FrontDeskState(FormMixin, AppState):
    """The desk's location and day, the calendar, the check-in box and the walk-in form."""

    locations: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    location_id: str = ""
    day: str = ""
    slots: list[SlotRow] = []  # noqa: RUF012 - Reflex state var
    total_booked: int = 0
    total_capacity: int = 0
    checked_in: int = 0
    waiting: int = 0  # confirmed, not yet arrived
    no_shows: int = 0
    last_checked_in: str = ""  # the booking checked in last (its row is highlighted)
    # Patient search (check-in by name/phone): matches with their bookings of the day.
    search_query: str = ""
    search_done: bool = False
    search_results: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    # Walk-in dialog.
    walkin_open: bool = False
    walkin_query: str = ""
    walkin_patients: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    walkin_searched: bool = False
    walkin_patient_id: str = ""
    walkin_patient_name: str = ""
    walkin_packages: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    walkin_slots: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    walkin_override: bool = False
    walkin_error: str = ""
    walkin_field_errors: dict[str, str] = {}  # noqa: RUF012 - Reflex state var

    # --- helpers (not events) --------------------------------------------------------

    def _tz(self) -> str:
        return self._tenant().timezone

    def _today(self) -> str:
        return datetime.now(zoneinfo.ZoneInfo(self._tz())).date().isoformat()

    def _day(self) -> date | None:
        try:
            return date.fromisoformat(self.day)
        except ValueError:
            return None

    def _fetch_locations(self) -> Any:
        def read(session: TenantSession, actor: Principal) -> list[dict[str, str]]:
            require_staff(session, actor, Permission.FRONT_DESK)
            return [
                {"id": str(loc.id), "zh": loc.name_zh, "en": loc.name_en or loc.name_zh}
                for loc in schedule.list_locations(session=session)
            ]

        rows, ev = self._run(PrincipalKind.STAFF, read, self._fail)
        if rows is not None:
            self.locations = rows
            ids = {r["id"] for r in self.locations}
            if self.location_id not in ids:
                self.location_id = self.locations[0]["id"] if self.locations else ""
        return ev

    def _fetch(self) -> Any:
        """The day calendar of the chosen location and day."""
        loc, day, tz = _int(self.location_id), self._day(), self._tz()
        if loc is None or day is None:
            self.slots = []
            self.total_booked = self.total_capacity = self.checked_in = 0
            self.waiting = self.no_shows = 0
            return None
        cal, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: fd.day_calendar(session=s, actor=p, location_id=loc, day=day),
            self._fail,
        )
        if cal is None:
            return ev
        assert isinstance(cal, fd.DayCalendar)
        slots = [
            SlotRow(
                id=str(sv.slot_id),
                time=f"{sv.local_start}–{sv.local_end}",
                booked=sv.booked,
                capacity=sv.capacity,
                full=sv.booked >= sv.capacity,
                bookings=[self._booking_row(b, tz) for b in sv.bookings],
            )
            for sv in cal.slots
        ]
        self.slots = slots
        self.total_booked, self.total_capacity = cal.total_booked, cal.total_capacity
        counts = cal.counts
        self.checked_in = counts.get("checked_in", 0) + counts.get("completed", 0)
        self.waiting, self.no_shows = counts.get("confirmed", 0), counts.get("no_show", 0)
        return ev

    def _booking_row(self, b: fd.DeskBooking, tz: str) -> BookingRow:
        return BookingRow(
            id=str(b.booking_id),
            patient=b.patient_name,
            phone=b.patient_phone_masked,
            package_zh=b.package_name_zh,
            package_en=b.package_name_en or b.package_name_zh,
            status=str(b.status),
            walk_in=bool(b.walk_in),
            override=b.override_reason or "",
            checked_in_at=_hm(b.checked_in_at, tz) if b.checked_in_at else "",
        )

    def _desk_act(self, fn: Any, notice_key: str) -> Any:
        """Run a desk action, say what happened, refresh the calendar."""
        return self._act(PrincipalKind.STAFF, fn, notice_key, self._fetch)

    def _check_in(self, code_or_id: str | int) -> Any:
        """Check in by code or id; the notice names the patient when the booking is
        on the calendar shown (a code from another day or location still works)."""
        self._clear()
        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: fd.check_in(session=s, actor=p, code_or_id=code_or_id).id,
            self._fail,
        )
        if ev is not None or done is None:
            return ev
        self.last_checked_in = str(done)
        ev = self._fetch()
        row = next(
            ((sl, b) for sl in self.slots for b in sl.bookings if b.id == self.last_checked_in),
            None,
        )
        self.notice = (
            self.tr("fd.checked_in_name", name=row[1].patient, time=row[0].time)
            if row is not None
            else self.tr("fd.checked_in_elsewhere")
        )
        return ev

    # --- events ----------------------------------------------------------------------

    @rx.event
    def load(self) -> Any:
        """Staff and admins (FRONT_DESK); today in the tenant's zone by default."""
        self._clear()
        self.walkin_open = False
        self.search_query, self.search_results, self.search_done = "", [], False
        redirect = self._load(PrincipalKind.STAFF, Permission.FRONT_DESK)
        if redirect is not None or self.page_status != "ok":
            return redirect
        wanted = self.router.url.query_parameters.get("day", "")
        self.day = wanted if _valid_day(wanted) else self._today()
        ev = self._fetch_locations()
        return ev or self._fetch()

    @rx.event
    def set_location(self, value: str) -> Any:
        """Show another location's day."""
        self._clear()
        self.location_id = value if isinstance(value, str) else ""
        return self._fetch()

    @rx.event
    def set_day(self, value: str) -> Any:
        """Show another day."""
        self._clear()
        if value == "":  # a date input being edited; wait for a whole date
            return None
        if not _valid_day(value):
            self.error = self.tr("fd.bad_date")
            return None
        self.day = value
        return self._fetch()

    @rx.event
    def shift_day(self, days: int) -> Any:
        """The previous or next day."""
        d = self._day()
        if d is None or not isinstance(days, int) or abs(days) > 366:
            return None
        self._clear()
        self.day = date.fromordinal(d.toordinal() + days).isoformat()
        return self._fetch()

    @rx.event
    def today(self) -> Any:
        """Back to today."""
        self._clear()
        self.day = self._today()
        return self._fetch()

    @rx.event
    def refresh(self) -> Any:
        """Reload the calendar (other desks act at the same time)."""
        self._clear()
        return self._fetch()

    @rx.event
    def submit_code(self, form: dict[str, Any]) -> Any:
        """Check in by the code the patient's QR holds (typed, scanned or a pasted URL)."""
        code = extract_checkin_code(form_str(form, "code"))
        if not code:
            self._clear()
            self.error = self.tr("fd.code_required")
            return None
        return self._check_in(code)

    @rx.event
    def check_in(self, booking_id: str) -> Any:
        """Check a booking in from its row."""
        bid = _int(booking_id)
        if bid is None:
            return None
        return self._check_in(bid)

    @rx.event
    def no_show(self, booking_id: str) -> Any:
        """Mark a booking as a no-show."""
        bid = _int(booking_id)
        if bid is None:
            return None
        return self._desk_act(
            lambda s, p: fd.mark_no_show(session=s, actor=p, booking_id=bid), "fd.no_show_ok"
        )

    @rx.event
    def complete(self, booking_id: str) -> Any:
        """Mark a checked-in booking as completed."""
        bid = _int(booking_id)
        if bid is None:
            return None
        return self._desk_act(
            lambda s, p: fd.complete(session=s, actor=p, booking_id=bid), "fd.completed_ok"
        )

    @rx.event
    def search(self, form: dict[str, Any]) -> Any:
        """Find the day's bookings of patients matching a name or phone."""
        self._clear()
        query = form_str(form, "q").strip()[:100]
        self.search_query = query
        if not query:
            self.search_results, self.search_done = [], False
            return None
        loc, day, tz = _int(self.location_id), self._day(), self._tz()
        if loc is None or day is None:
            return None
        found, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: fd.search_bookings(
                session=s, actor=p, location_id=loc, day=day, query=query
            ),
            self._fail,
        )
        if found is not None:
            self.search_results = [
                {
                    "id": str(b.booking_id),
                    "patient": b.patient_name,
                    "phone": b.patient_phone_masked,
                    "package_zh": b.package_name_zh,
                    "package_en": b.package_name_en or b.package_name_zh,
                    "time": _hm(b.starts_at, tz),
                    "status": str(b.status),
                }
                for b in found
            ]
            self.search_done = True
        return ev

    @rx.event
    def clear_search(self) -> None:
        """Hide the search results."""
        self.search_query, self.search_results, self.search_done = "", [], False

    # --- walk-ins ------------------------------------------------------------------

    def _walkin_fail(self, message: str, fields: dict[str, str]) -> None:
        self.walkin_error = message
        self.walkin_field_errors = fields

    @rx.event
    def set_walkin_open(self, value: bool) -> Any:
        """Open the walk-in dialog with fresh lists (packages and slots of the day)."""
        self.walkin_open = bool(value)
        self.walkin_error, self.walkin_field_errors = "", {}
        if not self.walkin_open:
            return None
        self.walkin_query, self.walkin_patients, self.walkin_searched = "", [], False
        self.walkin_patient_id = self.walkin_patient_name = ""
        self.walkin_override = False
        return self._fetch_walkin_options()

    def _fetch_walkin_options(self) -> Any:
        loc, day, now = _int(self.location_id), self._day(), datetime.now(UTC)
        if loc is None or day is None:
            self.walkin_packages, self.walkin_slots = [], []
            return None

        def options(
            session: TenantSession, actor: Principal
        ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
            packages = [
                {"id": str(pk.id), "zh": pk.name_zh, "en": pk.name_en or pk.name_zh}
                for pk in fd.walk_in_packages(session=session, actor=actor, location_id=loc)
            ]
            slots = [
                {
                    "id": str(sv.id),
                    "label": f"{sv.local_start}–{sv.local_end} · "
                    + self.tr("fd.seats_left", n=sv.remaining),
                }
                for sv in fd.walk_in_slots(session=session, actor=actor, location_id=loc, day=day)
                if sv.ends_at > now  # a slot that is over cannot take a walk-in
            ]
            return packages, slots

        result, ev = self._run(PrincipalKind.STAFF, options, self._walkin_fail)
        if result is not None:
            self.walkin_packages, self.walkin_slots = result
        return ev

    @rx.event
    def walkin_search(self, form: dict[str, Any]) -> Any:
        """Find the walk-in patient by name or phone."""
        self.walkin_error, self.walkin_field_errors = "", {}
        query = form_str(form, "wq").strip()[:100]
        self.walkin_query = query
        if not query:
            self.walkin_patients = []
            return None
        found, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: fd.search_patients(session=s, actor=p, query=query),
            self._walkin_fail,
        )
        if found is not None:
            self.walkin_searched = True
            self.walkin_patients = [
                {"id": str(pt.id), "name": pt.name, "phone": pt.phone_masked} for pt in found
            ]
        return ev

    @rx.event
    def pick_patient(self, patient_id: str, name: str) -> None:
        """Choose the walk-in patient from the search results."""
        if _int(patient_id) is None:
            return
        self.walkin_patient_id = patient_id
        self.walkin_patient_name = name if isinstance(name, str) else ""

    @rx.event
    def set_walkin_override(self, value: bool) -> None:
        """Whether the walk-in may exceed the slot's capacity (reason required)."""
        self.walkin_override = bool(value)

    @rx.event
    def walk_in(self, form: dict[str, Any]) -> Any:
        """Book the walk-in (confirmed at once; paid at the clinic)."""
        self._clear()
        self.walkin_error, self.walkin_field_errors = "", {}
        patient_id = _int(self.walkin_patient_id)
        package_id = _int(form_str(form, "package_id"))
        slot_id = _int(form_str(form, "slot_id"))
        reason = form_str(form, "override_reason").strip() if self.walkin_override else ""
        missing = {}
        if patient_id is None:
            missing["patient"] = self.tr("fd.pick_patient")
        if package_id is None:
            missing["package_id"] = self.tr("fd.pick_package")
        if slot_id is None:
            missing["slot_id"] = self.tr("fd.pick_slot")
        if self.walkin_override and not reason:
            missing["override_reason"] = self.tr("fd.reason_required")
        if missing or patient_id is None or package_id is None or slot_id is None:
            self._walkin_fail(self.tr("error.invalid_input"), missing)
            return None
        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: fd.walk_in(
                session=s,
                actor=p,
                patient_id=patient_id,
                package_id=package_id,
                slot_id=slot_id,
                override_reason=reason,
            ),
            self._walkin_fail,
        )
        if ev is not None:
            return ev
        if done is None:
            return None
        self.walkin_open = False
        self.notice = self.tr("fd.walk_in_ok", name=self.walkin_patient_name)
        return self._fetch()


def _valid_day(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# --- components ------------------------------------------------------------------------


def _lang(zh: Any, en: Any) -> Any:
    """A name in the UI language (switches without a round trip)."""
    return rx.cond(AppState.lang == "en", en, zh)


def status_badge(status: Any, *, id: Any = None) -> rx.Component:
    """A booking status as a colored badge."""
    return rx.badge(
        rx.match(status, *[(v, t(k)) for v, k in STATUS_LABELS.items()], status),
        color_scheme=rx.match(status, *STATUS_COLORS, "gray"),
        variant="soft",
        size="2",
        id=id,
        data_status=status,
    )


def _actions(bid: Any, status: Any) -> rx.Component:
    s = FrontDeskState
    return rx.hstack(
        rx.cond(
            (status == "confirmed") | (status == "held"),
            rx.button(
                rx.icon("log-in", size=14),
                t("fd.check_in"),
                size="2",
                color_scheme="green",
                on_click=s.check_in(bid),
                id="checkin-" + bid,
            ),
        ),
        rx.cond(
            status == "confirmed",
            rx.button(
                rx.icon("user-x", size=14),
                t("fd.no_show"),
                size="2",
                variant="soft",
                color_scheme="red",
                on_click=s.no_show(bid),
                id="noshow-" + bid,
            ),
        ),
        rx.cond(
            status == "checked_in",
            rx.button(
                rx.icon("circle-check-big", size=14),
                t("fd.complete"),
                size="2",
                variant="soft",
                color_scheme="teal",
                on_click=s.complete(bid),
                id="complete-" + bid,
            ),
        ),
        spacing="2",
        wrap="wrap",
        justify="end",
    )


def _booking(b: Any) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.hstack(
                rx.text(b.patient, weight="bold", size="3"),
                rx.text(b.phone, size="2", color_scheme="gray"),
                rx.cond(
                    b.walk_in,
                    rx.badge(t("fd.walk_in_badge"), variant="outline", color_scheme="gray"),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(_lang(b.package_zh, b.package_en), size="2"),
            rx.cond(
                b.override != "",
                rx.text(t("fd.override_label"), ": ", b.override, size="1", color_scheme="amber"),
            ),
            rx.cond(
                b.checked_in_at != "",
                rx.text(t("fd.checked_in_at"), " ", b.checked_in_at, size="1", color_scheme="gray"),
            ),
            spacing="1",
            flex="1",
            min_width="200px",
        ),
        rx.hstack(
            status_badge(b.status, id="status-" + b.id),
            _actions(b.id, b.status),
            spacing="3",
            align="center",
            wrap="wrap",
            justify="end",
        ),
        id="booking-" + b.id,
        data_status=b.status,
        background=rx.cond(
            FrontDeskState.last_checked_in == b.id, rx.color("green", 3), "transparent"
        ),
        gap="12px",
        align="center",
        wrap="wrap",
        width="100%",
        padding="10px 12px",
        border_top=f"1px solid {rx.color('gray', 4)}",
    )


def _slot(sl: Any) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("clock", size=16),
                rx.heading(sl.time, size="3"),
                rx.spacer(),
                rx.badge(
                    sl.booked,
                    " / ",
                    sl.capacity,
                    color_scheme=rx.cond(sl.full, "red", "green"),
                    variant="soft",
                    size="2",
                    id="slot-count-" + sl.id,
                ),
                align="center",
                width="100%",
            ),
            rx.cond(
                sl.bookings.length() > 0,
                rx.vstack(rx.foreach(sl.bookings, _booking), spacing="0", width="100%"),
                rx.text(t("fd.no_bookings_in_slot"), size="1", color_scheme="gray"),
            ),
            spacing="2",
            width="100%",
        ),
        id="slot-" + sl.id,
        width="100%",
    )


def checkin_box() -> rx.Component:
    """Check in by code (a scanner app types or pastes it) or find a patient."""
    s = FrontDeskState
    code_form = rx.form(
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("scan-line", size=16)),
                name="code",
                id="checkin-code",
                placeholder=t("fd.code_placeholder"),
                auto_focus=True,
                auto_complete="off",
                size="3",
                flex="1",
                min_width="0",
            ),
            rx.button(t("fd.check_in"), type="submit", size="3", id="checkin-submit"),
            width="100%",
        ),
        on_submit=s.submit_code,
        reset_on_submit=True,
        width="100%",
    )
    search_form = rx.form(
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                name="q",
                id="checkin-search",
                placeholder=t("fd.search_placeholder"),
                auto_complete="off",
                size="3",
                flex="1",
                min_width="0",
            ),
            rx.button(
                t("common.search"), type="submit", size="3", variant="soft", id="checkin-search-go"
            ),
            width="100%",
        ),
        on_submit=s.search,
        reset_on_submit=False,
        width="100%",
    )
    results = rx.cond(
        s.search_done,
        rx.vstack(
            rx.hstack(
                rx.text(t("fd.search_results"), size="2", weight="medium"),
                rx.spacer(),
                rx.button(
                    t("fd.clear"),
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                    on_click=s.clear_search,
                ),
                width="100%",
            ),
            rx.cond(
                s.search_results.length() > 0,  # type: ignore[attr-defined]
                rx.foreach(
                    s.search_results,
                    lambda r: rx.flex(
                        rx.vstack(
                            rx.text(r["patient"], " · ", r["phone"], weight="bold", size="2"),
                            rx.text(
                                r["time"], " · ", _lang(r["package_zh"], r["package_en"]), size="1"
                            ),
                            spacing="0",
                            flex="1",
                        ),
                        status_badge(r["status"]),
                        rx.cond(
                            (r["status"] == "confirmed") | (r["status"] == "held"),
                            rx.button(
                                t("fd.check_in"),
                                size="2",
                                color_scheme="green",
                                on_click=s.check_in(r["id"]),
                                id="found-checkin-" + r["id"],
                            ),
                        ),
                        id="found-" + r["id"],
                        gap="8px",
                        align="center",
                        width="100%",
                        wrap="wrap",
                    ),
                ),
                rx.text(t("fd.search_none"), size="2", color_scheme="gray", id="search-none"),
            ),
            spacing="2",
            width="100%",
            id="search-results",
        ),
    )
    return rx.card(
        rx.vstack(
            rx.text(t("fd.checkin_title"), weight="bold"),
            code_form,
            rx.text(t("fd.checkin_hint"), size="1", color_scheme="gray"),
            search_form,
            results,
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _walkin_err(name: str) -> rx.Component:
    s = FrontDeskState
    return rx.cond(
        s.walkin_field_errors[name],
        rx.text(s.walkin_field_errors[name], size="1", color_scheme="red", id=f"err-{name}"),
    )


SELECT_STYLE = {
    "width": "100%",
    "padding": "8px",
    "borderRadius": "6px",
    "border": "1px solid var(--gray-7)",
    "background": "var(--color-surface)",
    "fontSize": "16px",
}


def walkin_dialog() -> rx.Component:
    """Walk-in: find the patient, choose package and slot, optionally exceed capacity."""
    s = FrontDeskState
    label = {"fontSize": "14px", "fontWeight": 500}
    patient_search = rx.form(
        rx.hstack(
            rx.input(
                name="wq",
                id="walkin-query",
                placeholder=t("fd.search_placeholder"),
                default_value=s.walkin_query,
                auto_complete="off",
                flex="1",
                min_width="0",
            ),
            rx.button(t("common.search"), type="submit", variant="soft", id="walkin-search"),
            width="100%",
        ),
        on_submit=s.walkin_search,
        reset_on_submit=False,
        width="100%",
    )
    patient_list = rx.vstack(
        rx.foreach(
            s.walkin_patients,
            lambda pt: rx.button(
                rx.cond(
                    s.walkin_patient_id == pt["id"],
                    rx.icon("circle-check", size=14),
                    rx.icon("circle", size=14),
                ),
                pt["name"],
                " · ",
                pt["phone"],
                type="button",
                variant=rx.cond(s.walkin_patient_id == pt["id"], "solid", "soft"),
                color_scheme="gray",
                on_click=s.pick_patient(pt["id"], pt["name"]),
                id="walkin-patient-" + pt["id"],
                justify="start",
                width="100%",
            ),
        ),
        rx.cond(
            s.walkin_searched & (s.walkin_patients.length() == 0),  # type: ignore[attr-defined]
            rx.text(t("fd.no_patients"), size="2", color_scheme="gray", id="walkin-none"),
        ),
        spacing="1",
        width="100%",
        max_height="180px",
        overflow_y="auto",
    )
    booking_form = rx.form(
        rx.vstack(
            rx.el.label(t("fd.package"), html_for="walkin-package", style=label),
            rx.el.select(
                rx.el.option(t("fd.pick_package"), value=""),
                rx.foreach(
                    s.walkin_packages,
                    lambda pk: rx.el.option(_lang(pk["zh"], pk["en"]), value=pk["id"]),
                ),
                name="package_id",
                id="walkin-package",
                style=SELECT_STYLE,
            ),
            _walkin_err("package_id"),
            rx.el.label(t("fd.slot"), html_for="walkin-slot", style=label),
            rx.el.select(
                rx.el.option(t("fd.pick_slot"), value=""),
                rx.foreach(s.walkin_slots, lambda sv: rx.el.option(sv["label"], value=sv["id"])),
                name="slot_id",
                id="walkin-slot",
                style=SELECT_STYLE,
            ),
            _walkin_err("slot_id"),
            rx.el.label(
                rx.hstack(
                    rx.checkbox(
                        checked=s.walkin_override,
                        on_change=s.set_walkin_override,
                        name="override",
                        id="walkin-override",
                    ),
                    rx.text(t("fd.override"), size="2"),
                    spacing="2",
                    align="center",
                ),
                style={"cursor": "pointer"},
            ),
            rx.cond(
                s.walkin_override,
                rx.vstack(
                    rx.text_area(
                        name="override_reason",
                        id="walkin-reason",
                        placeholder=t("fd.override_reason"),
                        max_length=300,
                        width="100%",
                    ),
                    rx.text(t("fd.override_hint"), size="1", color_scheme="gray"),
                    _walkin_err("override_reason"),
                    spacing="1",
                    width="100%",
                ),
            ),
            rx.hstack(
                rx.dialog.close(
                    rx.button(
                        t("common.cancel"), variant="soft", color_scheme="gray", type="button"
                    )
                ),
                rx.button(t("fd.book_walk_in"), type="submit", id="walkin-submit"),
                justify="end",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=s.walk_in,
        reset_on_submit=False,
        width="100%",
    )
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("user-plus", size=16), t("fd.walk_in"), size="3", id="open-walkin")
        ),
        rx.dialog.content(
            rx.dialog.title(t("fd.walk_in_title")),
            rx.dialog.description(t("fd.walk_in_body"), size="2", color_scheme="gray"),
            rx.vstack(
                rx.cond(
                    s.walkin_error != "",
                    rx.callout(
                        s.walkin_error,
                        icon="circle-alert",
                        color_scheme="red",
                        id="walkin-error",
                        width="100%",
                    ),
                ),
                rx.text(t("fd.patient"), style=label),
                patient_search,
                patient_list,
                rx.cond(
                    s.walkin_patient_name != "",
                    rx.text(
                        t("fd.chosen"), ": ", s.walkin_patient_name, size="2", id="walkin-chosen"
                    ),
                ),
                _walkin_err("patient"),
                booking_form,
                spacing="3",
                width="100%",
                margin_top="12px",
            ),
            max_width="520px",
        ),
        open=s.walkin_open,
        on_open_change=s.set_walkin_open,
    )


def day_picker() -> rx.Component:
    """Location, date and the day's totals."""
    s = FrontDeskState
    return rx.flex(
        rx.el.select(
            rx.foreach(
                s.locations, lambda loc: rx.el.option(_lang(loc["zh"], loc["en"]), value=loc["id"])
            ),
            value=s.location_id,
            on_change=s.set_location,
            id="frontdesk-location",
            style={**SELECT_STYLE, "width": "auto", "minWidth": "160px"},
        ),
        rx.hstack(
            rx.icon_button(
                rx.icon("chevron-left", size=16),
                variant="soft",
                size="3",
                on_click=s.shift_day(-1),
                id="day-prev",
                aria_label="previous day",
            ),
            rx.input(
                type="date",
                value=s.day,
                on_change=s.set_day,
                id="frontdesk-date",
                size="3",
            ),
            rx.icon_button(
                rx.icon("chevron-right", size=16),
                variant="soft",
                size="3",
                on_click=s.shift_day(1),
                id="day-next",
                aria_label="next day",
            ),
            rx.button(t("fd.today"), variant="ghost", size="3", on_click=s.today, id="day-today"),
            spacing="1",
            align="center",
        ),
        rx.icon_button(
            rx.icon("refresh-cw", size=16),
            variant="ghost",
            size="3",
            on_click=s.refresh,
            id="frontdesk-refresh",
            aria_label="refresh",
        ),
        rx.spacer(),
        rx.badge(
            t("fd.booked"),
            ": ",
            s.total_booked,
            " / ",
            s.total_capacity,
            " · ",
            t("fd.arrived"),
            ": ",
            s.checked_in,
            " · ",
            t("fd.waiting"),
            ": ",
            s.waiting,
            rx.cond(s.no_shows > 0, rx.fragment(" · ", t("fd.no_show"), ": ", s.no_shows)),
            size="2",
            variant="surface",
            id="frontdesk-totals",
        ),
        gap="8px",
        align="center",
        wrap="wrap",
        width="100%",
    )


@page("/admin/frontdesk", title="Front desk", on_load=FrontDeskState.load)
def frontdesk_page() -> rx.Component:
    """The front desk's day."""
    s = FrontDeskState
    calendar = rx.cond(
        s.locations.length() == 0,  # type: ignore[attr-defined]
        rx.text(t("fd.no_locations"), color_scheme="gray", id="no-locations"),
        rx.cond(
            s.slots.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(rx.foreach(s.slots, _slot), spacing="3", width="100%", id="day-calendar"),
            rx.center(
                rx.text(t("fd.no_slots"), color_scheme="gray"),
                padding="32px",
                width="100%",
                border=f"1px dashed {rx.color('gray', 6)}",
                border_radius="8px",
                id="day-calendar-empty",
            ),
        ),
    )
    return admin_layout(
        rx.vstack(
            rx.hstack(
                rx.heading(t("fd.title"), size="6"),
                rx.spacer(),
                walkin_dialog(),
                align="center",
                width="100%",
            ),
            day_picker(),
            form_error(s),
            checkin_box(),
            calendar,
            spacing="4",
            width="100%",
            max_width="1000px",
        ),
        active="frontdesk",
    )
