"""Schedules for tenant admins (SCHEDULE_MANAGE): locations with their booking
window, weekly opening hours cut into slots, closed days, scarce resources with
daily limits, and the tenant's booking policy (holds, waitlist, cancel/refund)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, client_id, form_str
from components.i18n import t
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission, Principal, require_staff
from prm_saas.accounts.models import PrincipalKind
from prm_saas.booking import schedule
from tenants.db import TenantSession

# LocationHours.weekday (0 = Monday) and its label.
WEEKDAYS = [
    ("0", "sched.wd_0"),
    ("1", "sched.wd_1"),
    ("2", "sched.wd_2"),
    ("3", "sched.wd_3"),
    ("4", "sched.wd_4"),
    ("5", "sched.wd_5"),
    ("6", "sched.wd_6"),
]
TABS = ("details", "hours", "closures", "resources")
# Each form's inputs are named "<prefix><service field>", so a field error of one
# form never shows under another form's input of the same name.
PREFIX = {
    "location": "loc_",
    "hours": "hours_",
    "closure": "closure_",
    "resource": "res_",
    "policy": "pol_",
}
POLICY_FIELDS = (
    "hold_minutes",
    "waitlist_offer_minutes",
    "cancel_cutoff_hours",
    "full_refund_hours",
    "late_refund_percent",
)


def _raw(form: dict[str, Any], name: str) -> Any:
    """A number field as typed: the service validates and reports it per field."""
    return form_str(form, name).strip()


def _done(fn: Callable[..., Any], **kwargs: Any) -> bool:
    """Run a use case whose result the page does not need; True once it succeeded."""
    fn(**kwargs)
    return True


def _is_on(form: dict[str, Any], name: str) -> bool:
    return isinstance(form, dict) and form.get(name) in ("on", True, "true")


def _manager(session: TenantSession, actor: Principal) -> None:
    """Reads of this page are for schedule managers only (the read services are
    also used by the public booking flow and take no actor)."""
    require_staff(session, actor, Permission.SCHEDULE_MANAGE)


class SchedulesState(FormMixin, AppState):
    """Every form of the schedules page; ``where`` tells which form an error belongs to."""

    where: str = ""
    locations: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    loc_id: str = ""  # the location being edited; "" = a new one
    tab: str = "details"
    # The location editor's current values (defaults of an uncontrolled form).
    loc: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    loc_active: bool = True
    hours: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    hours_edit: dict[str, str] = {}  # noqa: RUF012 - Reflex state var ({} = add a block)
    closures: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    resources: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    res_edit: dict[str, str] = {}  # noqa: RUF012 - Reflex state var ({} = add one)
    policy: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    allow_pay_at_clinic: bool = True
    form_key: int = 0  # bumps to re-mount the uncontrolled forms with fresh defaults

    # --- helpers (not events) --------------------------------------------------------

    def _fail_in(self, where: str) -> Callable[[str, dict[str, str]], None]:
        prefix = PREFIX.get(where, "")

        def fail(message: str, fields: dict[str, str]) -> None:
            self.where = where
            self._fail(message, {prefix + k: v for k, v in fields.items()})

        return fail

    def _do(self, where: str, fn: Callable[[TenantSession, Principal], Any]) -> tuple[Any, Any]:
        """Run one use case of form ``where``: (result or None, login redirect or None)."""
        self._clear()
        self.where = where
        return self._run(PrincipalKind.STAFF, fn, self._fail_in(where))

    def _saved(self, where: str, key: str = "common.saved") -> None:
        self.where = where
        self.notice = self.tr(key)

    def _fetch(self) -> Any:
        """Locations, the chosen one's hours, closures and resources, and the policy."""
        wanted = client_id(self.loc_id)

        def read(session: TenantSession, actor: Principal) -> dict[str, Any]:
            _manager(session, actor)
            locs = schedule.list_locations(session=session, active_only=False)
            out: dict[str, Any] = {
                "locations": [
                    {
                        "id": str(x.id),
                        "name_zh": x.name_zh,
                        "name_en": x.name_en,
                        "address": x.address,
                        "phone": x.phone,
                        "min_days_ahead": str(x.min_days_ahead),
                        "max_days_ahead": str(x.max_days_ahead),
                        "same_day_cutoff": x.same_day_cutoff,
                        "active": "1" if x.active else "",
                    }
                    for x in locs
                ]
            }
            ids = {x.id for x in locs}
            loc_id = wanted if wanted in ids else None
            out["loc_id"] = loc_id
            if loc_id is not None:
                out["hours"] = [
                    {
                        "id": str(h.id),
                        "weekday": str(h.weekday),
                        "start": h.start,
                        "end": h.end,
                        "slot_minutes": str(h.slot_minutes),
                        "capacity": str(h.capacity),
                        "slots": str(_slot_count(h.start, h.end, h.slot_minutes)),
                    }
                    for h in schedule.list_hours(session=session, location_id=loc_id)
                ]
                out["closures"] = [
                    {"id": str(c.id), "day": c.day.isoformat(), "reason": c.reason}
                    for c in schedule.list_closures(session=session, location_id=loc_id)
                ]
                out["resources"] = [
                    {
                        "id": str(r.id),
                        "key": r.key,
                        "name_zh": r.name_zh,
                        "name_en": r.name_en,
                        "daily_limit": str(r.daily_limit),
                    }
                    for r in schedule.list_resources(session=session, location_id=loc_id)
                ]
            bs = schedule.get_booking_settings(session=session)
            out["policy"] = {f: str(getattr(bs, f)) for f in POLICY_FIELDS}
            out["allow_pay_at_clinic"] = bool(bs.allow_pay_at_clinic)
            return out

        data, ev = self._run(PrincipalKind.STAFF, read, self._fail_in("page"))
        if data is None:
            return ev
        self.locations = data["locations"]
        loc_id = data["loc_id"]
        self.loc_id = str(loc_id) if loc_id is not None else ""
        current = next((x for x in self.locations if x["id"] == self.loc_id), None)
        if current is None:
            self.loc = {"min_days_ahead": "1", "max_days_ahead": "30"}
            self.loc_active = True
            self.hours, self.closures, self.resources = [], [], []
            self.tab = "details"
        else:
            self.loc = dict(current)
            self.loc_active = current["active"] == "1"
            self.hours = data["hours"]
            self.closures = data["closures"]
            self.resources = data["resources"]
        self.policy = data["policy"]
        self.allow_pay_at_clinic = data["allow_pay_at_clinic"]
        self.form_key += 1
        return ev

    # --- events ----------------------------------------------------------------------

    @rx.event
    def load(self) -> Any:
        """Admins only (SCHEDULE_MANAGE); the first location is shown."""
        self._clear()
        self.where, self.hours_edit, self.res_edit, self.tab = "", {}, {}, "details"
        redirect = self._load(PrincipalKind.STAFF, Permission.SCHEDULE_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        self.loc_id = ""
        ev = self._fetch()
        if ev is None and not self.loc_id and self.locations:
            self.loc_id = self.locations[0]["id"]
            return self._fetch()
        return ev

    @rx.event
    def select_location(self, location_id: str) -> Any:
        """Edit another location."""
        self._clear()
        self.where, self.hours_edit, self.res_edit = "", {}, {}
        self.loc_id = location_id if client_id(location_id) is not None else ""
        return self._fetch()

    @rx.event
    def new_location(self) -> Any:
        """An empty editor for a new location."""
        self._clear()
        self.where, self.hours_edit, self.res_edit = "", {}, {}
        self.loc_id, self.tab = "", "details"
        return self._fetch()

    @rx.event
    def set_tab(self, value: str) -> None:
        """Switch between details, hours, closures and resources."""
        self.tab = value if value in TABS else "details"

    @rx.event
    def save_location(self, form: dict[str, Any]) -> Any:
        """Create the location, or save the one being edited."""
        p = PREFIX["location"]
        values = {
            "name_zh": form_str(form, p + "name_zh"),
            "name_en": form_str(form, p + "name_en"),
            "address": form_str(form, p + "address"),
            "phone": form_str(form, p + "phone"),
            "min_days_ahead": _raw(form, p + "min_days_ahead"),
            "max_days_ahead": _raw(form, p + "max_days_ahead"),
            "same_day_cutoff": form_str(form, p + "same_day_cutoff"),
        }
        loc_id = client_id(self.loc_id)
        if loc_id is None:
            done, ev = self._do(
                "location",
                lambda s, a: schedule.create_location(session=s, actor=a, **values).id,
            )
        else:
            active = _is_on(form, p + "active")
            done, ev = self._do(
                "location",
                lambda s, a: (
                    schedule.update_location(
                        session=s, actor=a, location_id=loc_id, active=active, **values
                    ).id
                ),
            )
        if done is None:
            return ev
        self.loc_id = str(done)
        ev2 = self._fetch()
        self._saved("location")
        return ev or ev2

    @rx.event
    def edit_hours(self, hours_id: str) -> None:
        """Put an opening block into the form to change it."""
        self.hours_edit = next((dict(h) for h in self.hours if h["id"] == hours_id), {})
        self._clear()
        self.form_key += 1

    @rx.event
    def cancel_hours_edit(self) -> None:
        """Back to adding a block."""
        self.hours_edit = {}
        self._clear()
        self.form_key += 1

    @rx.event
    def save_hours(self, form: dict[str, Any]) -> Any:
        """Add a weekly opening block, or save the one being edited."""
        p = PREFIX["hours"]
        values = {
            "weekday": _raw(form, p + "weekday"),
            "start": form_str(form, p + "start"),
            "end": form_str(form, p + "end"),
            "slot_minutes": _raw(form, p + "slot_minutes"),
            "capacity": _raw(form, p + "capacity"),
        }
        hours_id = client_id(self.hours_edit.get("id", ""))
        loc_id = client_id(self.loc_id)
        if loc_id is None:
            return None
        if hours_id is None:
            done, ev = self._do(
                "hours",
                lambda s, a: (
                    schedule.add_hours(session=s, actor=a, location_id=loc_id, **values).id
                ),
            )
        else:
            done, ev = self._do(
                "hours",
                lambda s, a: (
                    schedule.update_hours(session=s, actor=a, hours_id=hours_id, **values).id
                ),
            )
        if done is None:
            return ev
        self.hours_edit = {}
        ev2 = self._fetch()
        self._saved("hours")
        return ev or ev2

    @rx.event
    def delete_hours(self, hours_id: str) -> Any:
        """Remove an opening block (slots already made keep their bookings)."""
        hid = client_id(hours_id)
        if hid is None:
            return None
        done, ev = self._do(
            "hours",
            lambda s, a: _done(schedule.delete_hours, session=s, actor=a, hours_id=hid),
        )
        if done is None:
            return ev
        self.hours_edit = {}
        ev2 = self._fetch()
        self._saved("hours", "sched.deleted")
        return ev or ev2

    @rx.event
    def add_closure(self, form: dict[str, Any]) -> Any:
        """Close the location on a day."""
        p = PREFIX["closure"]
        loc_id = client_id(self.loc_id)
        if loc_id is None:
            return None
        day, reason = form_str(form, p + "day"), form_str(form, p + "reason")
        done, ev = self._do(
            "closure",
            lambda s, a: (
                schedule.add_closure(
                    session=s, actor=a, location_id=loc_id, day=day, reason=reason
                ).id
            ),
        )
        if done is None:
            return ev
        ev2 = self._fetch()
        self._saved("closure")
        return ev or ev2

    @rx.event
    def delete_closure(self, closure_id: str) -> Any:
        """Open a closed day again."""
        cid = client_id(closure_id)
        if cid is None:
            return None
        done, ev = self._do(
            "closure",
            lambda s, a: _done(schedule.delete_closure, session=s, actor=a, closure_id=cid),
        )
        if done is None:
            return ev
        ev2 = self._fetch()
        self._saved("closure", "sched.deleted")
        return ev or ev2

    @rx.event
    def edit_resource(self, resource_id: str) -> None:
        """Put a resource into the form to rename it or change its daily limit."""
        self.res_edit = next((dict(r) for r in self.resources if r["id"] == resource_id), {})
        self._clear()
        self.form_key += 1

    @rx.event
    def cancel_resource_edit(self) -> None:
        """Back to adding a resource."""
        self.res_edit = {}
        self._clear()
        self.form_key += 1

    @rx.event
    def save_resource(self, form: dict[str, Any]) -> Any:
        """Add a scarce resource, or save the one being edited."""
        p = PREFIX["resource"]
        name_zh, name_en = form_str(form, p + "name_zh"), form_str(form, p + "name_en")
        limit = _raw(form, p + "daily_limit")
        res_id = client_id(self.res_edit.get("id", ""))
        loc_id = client_id(self.loc_id)
        if loc_id is None:
            return None
        if res_id is None:
            key = form_str(form, p + "key")
            done, ev = self._do(
                "resource",
                lambda s, a: (
                    schedule.add_resource(
                        session=s,
                        actor=a,
                        location_id=loc_id,
                        key=key,
                        name_zh=name_zh,
                        name_en=name_en,
                        daily_limit=limit,
                    ).id
                ),
            )
        else:
            done, ev = self._do(
                "resource",
                lambda s, a: (
                    schedule.update_resource(
                        session=s,
                        actor=a,
                        resource_id=res_id,
                        name_zh=name_zh,
                        name_en=name_en,
                        daily_limit=limit,
                    ).id
                ),
            )
        if done is None:
            return ev
        self.res_edit = {}
        ev2 = self._fetch()
        self._saved("resource")
        return ev or ev2

    @rx.event
    def save_policy(self, form: dict[str, Any]) -> Any:
        """Store the tenant's booking policy."""
        p = PREFIX["policy"]
        values = {f: _raw(form, p + f) for f in POLICY_FIELDS}
        pay_at_clinic = _is_on(form, p + "allow_pay_at_clinic")
        done, ev = self._do(
            "policy",
            lambda s, a: _done(
                schedule.update_booking_settings,
                session=s,
                actor=a,
                allow_pay_at_clinic=pay_at_clinic,
                **values,
            ),
        )
        if done is None:
            return ev
        ev2 = self._fetch()
        self._saved("policy")
        return ev or ev2


def _slot_count(start: str, end: str, minutes: int) -> int:
    try:
        sh, sm = (int(x) for x in start.split(":"))
        eh, em = (int(x) for x in end.split(":"))
    except ValueError:
        return 0
    length = (eh * 60 + em) - (sh * 60 + sm)
    return length // minutes if minutes > 0 and length > 0 else 0


# --- components ------------------------------------------------------------------------

S = SchedulesState
LABEL = {"fontSize": "14px", "fontWeight": 500}
SELECT_STYLE = {
    "width": "100%",
    "padding": "8px",
    "borderRadius": "6px",
    "border": "1px solid var(--gray-7)",
    "background": "var(--color-surface)",
}


def form_message(where: str) -> rx.Component:
    """The error or notice of form ``where``, shown next to that form only."""
    return rx.cond(
        S.where == where,
        rx.fragment(
            rx.cond(
                S.error != "",
                rx.callout(
                    S.error,
                    icon="circle-alert",
                    color_scheme="red",
                    id=f"{where}-error",
                    width="100%",
                ),
            ),
            rx.cond(
                S.notice != "",
                rx.callout(
                    S.notice,
                    icon="circle-check",
                    color_scheme="green",
                    id=f"{where}-notice",
                    width="100%",
                ),
            ),
        ),
    )


def _input(
    label_key: str,
    name: str,
    *,
    default: Any = None,
    type: str = "text",
    hint_key: str | None = None,
    **props: Any,
) -> rx.Component:
    """A labelled input with its error (``S.field_errors[name]``) under it."""
    err = S.field_errors[name]
    if default is not None:
        props["default_value"] = default
    return rx.vstack(
        rx.el.label(t(label_key), html_for=f"f-{name}", style=LABEL),
        rx.input(name=name, id=f"f-{name}", type=type, width="100%", **props),
        rx.cond(
            err,
            rx.text(err, size="1", color_scheme="red", id=f"err-{name}"),
            rx.text(t(hint_key), size="1", color_scheme="gray") if hint_key else rx.fragment(),
        ),
        spacing="1",
        width="100%",
        align="start",
    )


def _err(name: str) -> rx.Component:
    return rx.cond(
        S.field_errors[name],
        rx.text(S.field_errors[name], size="1", color_scheme="red", id=f"err-{name}"),
    )


def _switch(name: str, label_key: str, hint_key: str, checked: Any) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.switch(name=name, default_checked=checked, id=f"f-{name}"),
            rx.vstack(
                rx.text(t(label_key), size="2", weight="medium"),
                rx.text(t(hint_key), size="1", color_scheme="gray"),
                spacing="0",
            ),
            spacing="3",
            align="start",
        ),
        style={"cursor": "pointer"},
    )


def _grid(*children: rx.Component) -> rx.Component:
    return rx.grid(
        *children, columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%"
    )


def _card(title_key: str, icon: str, *children: rx.Component, **props: Any) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=18, color=AppState.tenant_color),
                rx.heading(t(title_key), size="3"),
                align="center",
                spacing="2",
            ),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        **props,
    )


def location_list() -> rx.Component:
    """The tenant's locations; the one being edited is highlighted."""
    return rx.vstack(
        rx.foreach(
            S.locations,
            lambda x: rx.button(
                rx.vstack(
                    rx.text(
                        rx.cond(
                            (AppState.lang == "en") & (x["name_en"] != ""),
                            x["name_en"],
                            x["name_zh"],
                        ),
                        weight="medium",
                    ),
                    rx.cond(
                        x["active"] == "1",
                        rx.text(x["address"], size="1", color_scheme="gray"),
                        rx.badge(t("sched.inactive"), color_scheme="gray", size="1"),
                    ),
                    spacing="0",
                    align="start",
                ),
                variant=rx.cond(S.loc_id == x["id"], "soft", "ghost"),
                color_scheme="gray",
                on_click=S.select_location(x["id"]),
                id="loc-" + x["id"],
                width="100%",
                height="auto",
                padding="8px 10px",
                justify="start",
            ),
        ),
        rx.cond(
            S.locations.length() == 0,  # type: ignore[attr-defined]
            rx.text(t("sched.no_locations"), size="2", color_scheme="gray", id="no-locations"),
        ),
        rx.button(
            rx.icon("plus", size=14),
            t("sched.new_location"),
            variant="outline",
            on_click=S.new_location,
            id="new-location",
            width="100%",
        ),
        spacing="1",
        width="100%",
    )


def location_form() -> rx.Component:
    """Name, address, phone, booking window and same-day cutoff."""
    p = PREFIX["location"]
    return rx.form(
        rx.vstack(
            form_message("location"),
            _grid(
                _input("sched.name_zh", p + "name_zh", default=S.loc["name_zh"]),
                _input("sched.name_en", p + "name_en", default=S.loc["name_en"]),
            ),
            _input("sched.address", p + "address", default=S.loc["address"]),
            _grid(
                _input("common.phone", p + "phone", default=S.loc["phone"], type="tel"),
                _input(
                    "sched.same_day_cutoff",
                    p + "same_day_cutoff",
                    default=S.loc["same_day_cutoff"],
                    type="time",
                    hint_key="sched.same_day_cutoff_hint",
                ),
                _input(
                    "sched.min_days_ahead",
                    p + "min_days_ahead",
                    default=S.loc["min_days_ahead"],
                    type="number",
                    min=0,
                    hint_key="sched.min_days_ahead_hint",
                ),
                _input(
                    "sched.max_days_ahead",
                    p + "max_days_ahead",
                    default=S.loc["max_days_ahead"],
                    type="number",
                    min=0,
                ),
            ),
            rx.cond(
                S.loc_id != "",
                _switch(p + "active", "sched.active", "sched.active_hint", S.loc_active),
            ),
            rx.button(
                rx.icon("save", size=14),
                rx.cond(S.loc_id != "", t("common.save"), t("sched.create_location")),
                type="submit",
                id="save-location",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.save_location,
        reset_on_submit=False,
        key=S.form_key,
        width="100%",
    )


def _weekday(value: Any) -> rx.Component | rx.Var:
    return rx.match(value, *[(d, t(k)) for d, k in WEEKDAYS], value)


def _editor_panel(
    *,
    title: Any,
    fields: tuple[rx.Component, ...],
    editing: Any,
    where: str,
    save_id: str,
    on_cancel: Any,
    on_submit: Any,
    help_key: str,
    rows: Any,
    table: rx.Component,
    empty_key: str,
    empty_id: str,
) -> rx.Component:
    """A list (a table, or a line saying it is empty) above its add/edit form."""
    form = rx.form(
        rx.vstack(
            rx.text(title, weight="medium"),
            *fields,
            rx.hstack(
                rx.button(
                    rx.cond(editing, t("common.save"), t("sched.add")),
                    type="submit",
                    id=save_id,
                ),
                rx.cond(
                    editing,
                    rx.button(
                        t("common.cancel"),
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=on_cancel,
                    ),
                ),
                spacing="2",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
        key=S.form_key,
        width="100%",
    )
    return rx.vstack(
        rx.text(t(help_key), size="2", color_scheme="gray"),
        form_message(where),
        rx.cond(
            rows.length() > 0,
            rx.box(table, width="100%", overflow_x="auto"),
            rx.text(t(empty_key), size="2", color_scheme="gray", id=empty_id),
        ),
        form,
        spacing="3",
        width="100%",
    )


def hours_panel() -> rx.Component:
    """The weekly opening blocks and the add/edit form."""
    p = PREFIX["hours"]
    editing = S.hours_edit.contains("id")  # type: ignore[attr-defined]
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(t("sched.weekday")),
                rx.table.column_header_cell(t("sched.time")),
                rx.table.column_header_cell(t("sched.slot_minutes"), text_align="right"),
                rx.table.column_header_cell(t("sched.capacity"), text_align="right"),
                rx.table.column_header_cell(t("sched.slots"), text_align="right"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(
            rx.foreach(
                S.hours,
                lambda h: rx.table.row(
                    rx.table.cell(_weekday(h["weekday"])),
                    rx.table.cell(h["start"], "–", h["end"]),
                    rx.table.cell(h["slot_minutes"], text_align="right"),
                    rx.table.cell(h["capacity"], text_align="right"),
                    rx.table.cell(h["slots"], text_align="right"),
                    rx.table.cell(
                        rx.hstack(
                            rx.icon_button(
                                rx.icon("pencil", size=14),
                                size="1",
                                variant="soft",
                                on_click=S.edit_hours(h["id"]),
                                id="hours-edit-" + h["id"],
                                aria_label="edit",
                            ),
                            rx.icon_button(
                                rx.icon("trash-2", size=14),
                                size="1",
                                variant="soft",
                                color_scheme="red",
                                on_click=S.delete_hours(h["id"]),
                                id="hours-del-" + h["id"],
                                aria_label="delete",
                            ),
                            spacing="2",
                            justify="end",
                        )
                    ),
                    id="hours-" + h["id"],
                ),
            )
        ),
        size="1",
        width="100%",
        id="hours-table",
    )
    return _editor_panel(
        title=rx.cond(editing, t("sched.edit_hours"), t("sched.add_hours")),
        fields=(
            rx.grid(
                rx.vstack(
                    rx.el.label(t("sched.weekday"), html_for=f"f-{p}weekday", style=LABEL),
                    rx.el.select(
                        *[rx.el.option(t(k), value=d) for d, k in WEEKDAYS],
                        name=p + "weekday",
                        id=f"f-{p}weekday",
                        default_value=rx.cond(editing, S.hours_edit["weekday"], "0"),
                        style=SELECT_STYLE,
                    ),
                    _err(p + "weekday"),
                    spacing="1",
                    width="100%",
                ),
                _input("sched.start", p + "start", type="time", default=S.hours_edit["start"]),
                _input("sched.end", p + "end", type="time", default=S.hours_edit["end"]),
                _input(
                    "sched.slot_minutes",
                    p + "slot_minutes",
                    type="number",
                    min=5,
                    default=rx.cond(editing, S.hours_edit["slot_minutes"], "30"),
                ),
                _input(
                    "sched.capacity",
                    p + "capacity",
                    type="number",
                    min=0,
                    default=rx.cond(editing, S.hours_edit["capacity"], "40"),
                ),
                columns=rx.breakpoints(initial="2", md="5"),
                spacing="3",
                width="100%",
            ),
        ),
        editing=editing,
        where="hours",
        save_id="save-hours",
        on_cancel=S.cancel_hours_edit,
        on_submit=S.save_hours,
        help_key="sched.hours_help",
        rows=S.hours,
        table=table,
        empty_key="sched.no_hours",
        empty_id="no-hours",
    )


def closures_panel() -> rx.Component:
    """Closed days: add one, list them, open a day again."""
    p = PREFIX["closure"]
    form = rx.form(
        rx.flex(
            rx.box(
                _input("sched.closure_day", p + "day", type="date"), min_width="160px", flex="1"
            ),
            rx.box(_input("sched.closure_reason", p + "reason", max_length=120), flex="2"),
            rx.button(t("sched.add"), type="submit", id="add-closure"),
            gap="12px",
            align="end",
            wrap="wrap",
            width="100%",
        ),
        on_submit=S.add_closure,
        reset_on_submit=False,
        key=S.form_key,
        width="100%",
    )
    return rx.vstack(
        form_message("closure"),
        form,
        rx.cond(
            S.closures.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(
                rx.foreach(
                    S.closures,
                    lambda c: rx.hstack(
                        rx.icon("calendar-x", size=16),
                        rx.text(c["day"], weight="medium"),
                        rx.text(c["reason"], size="2", color_scheme="gray"),
                        rx.spacer(),
                        rx.icon_button(
                            rx.icon("trash-2", size=14),
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            on_click=S.delete_closure(c["id"]),
                            id="closure-del-" + c["id"],
                            aria_label="delete",
                        ),
                        align="center",
                        width="100%",
                        id="closure-" + c["day"],
                    ),
                ),
                spacing="2",
                width="100%",
                id="closure-list",
            ),
            rx.text(t("sched.no_closures"), size="2", color_scheme="gray", id="no-closures"),
        ),
        spacing="3",
        width="100%",
    )


def resources_panel() -> rx.Component:
    """Scarce resources with their daily limits; add one or edit one."""
    p = PREFIX["resource"]
    editing = S.res_edit.contains("id")  # type: ignore[attr-defined]
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(t("sched.resource_key")),
                rx.table.column_header_cell(t("sched.name_zh")),
                rx.table.column_header_cell(t("sched.name_en")),
                rx.table.column_header_cell(t("sched.daily_limit"), text_align="right"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(
            rx.foreach(
                S.resources,
                lambda r: rx.table.row(
                    rx.table.cell(rx.code(r["key"])),
                    rx.table.cell(r["name_zh"]),
                    rx.table.cell(r["name_en"]),
                    rx.table.cell(r["daily_limit"], text_align="right"),
                    rx.table.cell(
                        rx.icon_button(
                            rx.icon("pencil", size=14),
                            size="1",
                            variant="soft",
                            on_click=S.edit_resource(r["id"]),
                            id="res-edit-" + r["id"],
                            aria_label="edit",
                        )
                    ),
                    id="res-" + r["key"],
                ),
            )
        ),
        size="1",
        width="100%",
        id="resource-table",
    )
    return _editor_panel(
        title=rx.cond(editing, t("sched.edit_resource"), t("sched.add_resource")),
        fields=(
            rx.grid(
                rx.cond(
                    editing,
                    rx.vstack(
                        rx.text(t("sched.resource_key"), style=LABEL),
                        rx.code(S.res_edit["key"]),
                        spacing="1",
                    ),
                    _input(
                        "sched.resource_key",
                        p + "key",
                        placeholder="ct",
                        hint_key="sched.resource_key_hint",
                    ),
                ),
                _input("sched.name_zh", p + "name_zh", default=S.res_edit["name_zh"]),
                _input("sched.name_en", p + "name_en", default=S.res_edit["name_en"]),
                _input(
                    "sched.daily_limit",
                    p + "daily_limit",
                    type="number",
                    min=0,
                    default=S.res_edit["daily_limit"],
                ),
                columns=rx.breakpoints(initial="2", md="4"),
                spacing="3",
                width="100%",
            ),
        ),
        editing=editing,
        where="resource",
        save_id="save-resource",
        on_cancel=S.cancel_resource_edit,
        on_submit=S.save_resource,
        help_key="sched.resources_help",
        rows=S.resources,
        table=table,
        empty_key="sched.no_resources",
        empty_id="no-resources",
    )


def location_editor() -> rx.Component:
    """The chosen location's tabs (a new location shows its details form only)."""
    return rx.card(
        rx.cond(
            S.loc_id != "",
            rx.tabs.root(
                rx.tabs.list(
                    rx.tabs.trigger(t("sched.tab_details"), value="details", id="tab-details"),
                    rx.tabs.trigger(t("sched.tab_hours"), value="hours", id="tab-hours"),
                    rx.tabs.trigger(t("sched.tab_closures"), value="closures", id="tab-closures"),
                    rx.tabs.trigger(
                        t("sched.tab_resources"), value="resources", id="tab-resources"
                    ),
                ),
                rx.tabs.content(location_form(), value="details", padding_top="12px"),
                rx.tabs.content(hours_panel(), value="hours", padding_top="12px"),
                rx.tabs.content(closures_panel(), value="closures", padding_top="12px"),
                rx.tabs.content(resources_panel(), value="resources", padding_top="12px"),
                value=S.tab,
                on_change=S.set_tab,
                width="100%",
            ),
            rx.vstack(
                rx.heading(t("sched.new_location"), size="3"),
                location_form(),
                spacing="3",
                width="100%",
            ),
        ),
        width="100%",
        id="location-editor",
    )


def policy_card() -> rx.Component:
    """The tenant-wide booking policy."""
    p = PREFIX["policy"]

    def num(name: str, hint: str) -> rx.Component:
        return _input(
            f"sched.{name}", p + name, type="number", min=0, default=S.policy[name], hint_key=hint
        )

    return _card(
        "sched.policy",
        "shield-check",
        rx.form(
            rx.vstack(
                form_message("policy"),
                _grid(
                    num("hold_minutes", "sched.hold_minutes_hint"),
                    num("waitlist_offer_minutes", "sched.waitlist_offer_minutes_hint"),
                    num("cancel_cutoff_hours", "sched.cancel_cutoff_hours_hint"),
                    num("full_refund_hours", "sched.full_refund_hours_hint"),
                    num("late_refund_percent", "sched.late_refund_percent_hint"),
                ),
                _switch(
                    p + "allow_pay_at_clinic",
                    "sched.allow_pay_at_clinic",
                    "sched.allow_pay_at_clinic_hint",
                    S.allow_pay_at_clinic,
                ),
                rx.button(
                    rx.icon("save", size=14), t("common.save"), type="submit", id="save-policy"
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save_policy,
            reset_on_submit=False,
            key=S.form_key,
            width="100%",
        ),
        id="policy-card",
    )


@page("/admin/schedules", title="Schedules", on_load=SchedulesState.load)
def schedules_page() -> rx.Component:
    """Locations, hours, closures, resources and the booking policy."""
    return admin_layout(
        rx.vstack(
            rx.heading(t("sched.title"), size="6"),
            rx.text(t("sched.help"), size="2", color_scheme="gray"),
            form_message("page"),
            rx.flex(
                rx.box(
                    _card("sched.locations", "map-pin", location_list()),
                    width=rx.breakpoints(initial="100%", md="260px"),
                    flex_shrink="0",
                ),
                rx.box(location_editor(), flex="1", min_width="0", width="100%"),
                direction=rx.breakpoints(initial="column", md="row"),
                gap="16px",
                align="start",
                width="100%",
            ),
            policy_card(),
            spacing="4",
            width="100%",
            max_width="1100px",
        ),
        active="schedules",
    )
