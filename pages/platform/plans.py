"""The plan catalog for operators: the plans on sale and their monthly price;
add or change one in a dialog. The page only calls ``list_plans`` and
``save_plan``; the service checks everything."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.admin_ui import list_or_empty, page_header
from components.app_state import AppState
from components.forms import (
    FormMixin,
    client_id,
    field,
    form_checked,
    form_dialog,
    form_error,
    form_str,
)
from components.i18n import t
from components.layout import platform_layout
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.display import yuan
from prm_saas.platform.billing import PlanRow, list_plans, save_plan

HEADERS = [
    "plans.code",
    "plans.name_zh",
    "plans.name_en",
    "plans.monthly",
    "console_ui.limits_short",
    "console_ui.messages_short",
    "console_ui.trial_days",
    "common.status",
    "plans.sort_order",
    "common.actions",
]


# The plan's limits as the editor names them (empty = unlimited; the service parses).
LIMIT_FIELDS = (
    "max_staff",
    "max_locations",
    "max_active_patients",
    "messages_included",
    "message_overage_yuan",
    "messages_cap",
    "trial_days",
)


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _plan_dict(p: PlanRow) -> dict[str, str]:
    return {
        "id": str(p.id),
        "code": p.code,
        "name_zh": p.name_zh,
        "name_en": p.name_en,
        "monthly": yuan(p.monthly_fen),
        "monthly_yuan": p.monthly_yuan,
        "active": "1" if p.active else "",
        "sort_order": str(p.sort_order),
        "max_staff": _opt(p.max_staff),
        "max_locations": _opt(p.max_locations),
        "max_active_patients": _opt(p.max_active_patients),
        "messages_included": str(p.messages_included),
        "message_overage_yuan": p.message_overage_yuan,
        "message_overage": yuan(p.message_overage_fen),
        "messages_cap": _opt(p.messages_cap),
        "trial_days": str(p.trial_days),
    }


class PlansState(FormMixin, AppState):
    """The catalog and its editor dialog."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    edit_open: bool = False
    is_edit: bool = False
    editing: dict[str, str] = {}  # noqa: RUF012 - Reflex state var (the dialog's start values)
    _editing_id: int | None = None

    def _refresh(self) -> Any:
        rows, ev = self._run(
            PrincipalKind.OPERATOR,
            lambda s, p: [_plan_dict(r) for r in list_plans(session=s, actor=p)],
            self._fail,
        )
        if rows is not None:
            self.rows = rows
        return ev

    @rx.event
    def load(self) -> Any:
        """Operators only."""
        self._clear()
        self.edit_open = False
        redirect = self._load(PrincipalKind.OPERATOR)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    @rx.event
    def open_new(self) -> None:
        """An empty editor."""
        self._clear()
        self._editing_id = None
        self.is_edit = False
        self.editing = {"active": "1", "sort_order": "0", "trial_days": "14"}
        self.edit_open = True

    @rx.event
    def open_edit(self, plan_id: str) -> None:
        """The editor filled with one plan (as listed; the save checks it exists)."""
        self._clear()
        wanted = client_id(plan_id)
        found = [r for r in self.rows if r["id"] == str(wanted)]
        if wanted is None or not found:
            return
        self._editing_id = wanted
        self.is_edit = True
        self.editing = dict(found[0])
        self.edit_open = True

    @rx.event
    def set_edit_open(self, value: bool) -> None:
        """Open or close the editor."""
        self.edit_open = bool(value)
        self.field_errors = {}
        self.error = ""

    @rx.event
    def save(self, form: dict[str, Any]) -> Any:
        """Create or change the plan."""
        self._clear()
        ip, _ua = self._client()
        plan_id = self._editing_id
        done, ev = self._run(
            PrincipalKind.OPERATOR,
            lambda s, p: save_plan(
                session=s,
                actor=p,
                plan_id=plan_id,
                code=form_str(form, "code"),
                name_zh=form_str(form, "name_zh"),
                name_en=form_str(form, "name_en"),
                monthly_yuan=form_str(form, "monthly_yuan"),
                active=form_checked(form, "active"),
                sort_order=form_str(form, "sort_order"),
                max_staff=form_str(form, "max_staff"),
                max_locations=form_str(form, "max_locations"),
                max_active_patients=form_str(form, "max_active_patients"),
                messages_included=form_str(form, "messages_included"),
                message_overage_yuan=form_str(form, "message_overage_yuan"),
                messages_cap=form_str(form, "messages_cap"),
                trial_days=form_str(form, "trial_days"),
                ip=ip,
            ),
            self._fail,
        )
        if done is None:
            return ev
        self.edit_open = False
        self.notice = self.tr("plans.saved_ok")
        return self._refresh()


def editor() -> rx.Component:
    """The add / edit dialog."""
    s = PlansState
    return form_dialog(
        s,
        open_var=s.edit_open,
        on_open_change=s.set_edit_open,
        on_submit=s.save,
        trigger=None,
        title=rx.cond(s.is_edit, t("plans.edit"), t("plans.new")),
        fields=[
            field(s, "plans.code", "code", default_value=s.editing["code"]),
            field(s, "plans.name_zh", "name_zh", default_value=s.editing["name_zh"]),
            field(s, "plans.name_en", "name_en", default_value=s.editing["name_en"]),
            field(
                s,
                "plans.monthly_yuan",
                "monthly_yuan",
                default_value=s.editing["monthly_yuan"],
                placeholder="2999",
            ),
            field(s, "plans.sort_order", "sort_order", default_value=s.editing["sort_order"]),
            rx.heading(t("console_ui.limits"), size="3"),
            rx.grid(
                *[
                    field(s, f"console_ui.{name}", name, default_value=s.editing[name])
                    for name in LIMIT_FIELDS
                ],
                columns="2",
                spacing="3",
                width="100%",
            ),
            rx.hstack(
                rx.checkbox(
                    name="active",
                    id="f-active",
                    default_checked=s.editing["active"] == "1",
                ),
                rx.el.label(t("plans.active"), html_for="f-active"),
                align="center",
                spacing="2",
            ),
        ],
        submit_key="plans.save",
        submit_id="save-plan",
    )


def _limit(value: rx.Var[str]) -> rx.Component:
    """A limit, or "unlimited" when the plan has none."""
    return rx.cond(value != "", rx.text(value, as_="span"), t("billing_ui.unlimited"))


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = PlansState
    return rx.table.row(
        rx.table.cell(rx.code(r["code"])),
        rx.table.cell(r["name_zh"]),
        rx.table.cell(r["name_en"]),
        rx.table.cell(r["monthly"]),
        rx.table.cell(
            _limit(r["max_staff"]),
            " / ",
            _limit(r["max_locations"]),
            " / ",
            _limit(r["max_active_patients"]),
            class_name="plan-limits",
        ),
        rx.table.cell(
            r["messages_included"],
            " / ",
            r["message_overage"],
            " / ",
            _limit(r["messages_cap"]),
            class_name="plan-messages",
        ),
        rx.table.cell(r["trial_days"], class_name="plan-trial"),
        rx.table.cell(
            rx.cond(
                r["active"] == "1",
                rx.badge(t("plans.active"), color_scheme="green"),
                rx.badge(t("plans.inactive"), color_scheme="gray"),
            )
        ),
        rx.table.cell(r["sort_order"]),
        rx.table.cell(
            rx.button(
                t("plans.edit"),
                size="1",
                variant="soft",
                on_click=s.open_edit(r["id"]),
                id="edit-plan-" + r["code"],
            )
        ),
        id="plan-" + r["code"],
    )


@page("/platform/plans", title="Plans", on_load=PlansState.load, tenant=False)
def plans_page() -> rx.Component:
    """The plan catalog."""
    s = PlansState
    return platform_layout(
        rx.vstack(
            page_header("plans.title", action_key="plans.new", on_click=s.open_new, id="new-plan"),
            form_error(s),
            editor(),
            list_or_empty(
                s.rows,
                _row,
                HEADERS,
                id="plans-table",
                empty_key="plans.empty",
                empty_id="plans-empty",
            ),
            spacing="4",
            width="100%",
        ),
        active="plans",
    )
