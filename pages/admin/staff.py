"""Staff management: list, invite, change role, disable/enable, resend an invitation."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, field, form_dialog, form_error, form_str, select_field
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.accounts.staff import (
    change_role,
    invite_staff,
    list_staff,
    resend_invitation,
    set_staff_enabled,
)
from prm_saas.display import local_time

ROLES = [("staff", "role.staff"), ("tenant_admin", "role.tenant_admin")]


class StaffPageState(FormMixin, AppState):
    """The staff table and the invite dialog."""

    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    invite_open: bool = False

    def _refresh(self) -> Any:
        tz = self._tenant().timezone

        def rows(session: Any, actor: Any) -> list[dict[str, str]]:
            return [
                {
                    "id": str(m.id),
                    "name": m.name,
                    "email": m.email,
                    "role": str(m.role),
                    "status": str(m.status),
                    "last_login": local_time(m.last_login_at, tz),
                    "self": "1" if m.id == actor.id else "",
                }
                for m in list_staff(session=session, actor=actor)
            ]

        result, ev = self._run(PrincipalKind.STAFF, rows, self._fail)
        if result is not None:
            self.rows = result
        return ev

    @rx.event
    def load(self) -> Any:
        """Admins only; others get the 404 page."""
        self._clear()
        self.invite_open = False
        redirect = self._load(PrincipalKind.STAFF, Permission.STAFF_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh()

    @rx.event
    def set_invite_open(self, value: bool) -> None:
        """Open or close the invite dialog."""
        self.invite_open = bool(value)
        self.field_errors = {}

    @rx.event
    def invite(self, form: dict[str, Any]) -> Any:
        """Send an invitation."""
        self._clear()
        ip, _ua = self._client()
        email = form_str(form, "email")
        done, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: invite_staff(
                session=s,
                actor=p,
                email=email,
                name=form_str(form, "name"),
                role=form_str(form, "role"),
                ip=ip,
            ),
            self._fail,
        )
        if done is not None:
            self.invite_open = False
            self.notice = self.tr("staff.invited_ok", email=done.email)
            return ev or self._refresh()
        return ev

    def _staff_act(self, fn: Any, notice_key: str = "common.saved") -> Any:
        return self._act(PrincipalKind.STAFF, fn, notice_key, self._refresh)

    @rx.event
    def set_role(self, staff_id: int, role: str) -> Any:
        """Change a colleague's role."""
        ip, _ua = self._client()
        return self._staff_act(
            lambda s, p: change_role(session=s, actor=p, staff_id=staff_id, role=role, ip=ip)
        )

    @rx.event
    def set_enabled(self, staff_id: int, enabled: bool) -> Any:
        """Disable (signs them out everywhere) or enable a colleague."""
        ip, _ua = self._client()
        return self._staff_act(
            lambda s, p: set_staff_enabled(
                session=s, actor=p, staff_id=staff_id, enabled=bool(enabled), ip=ip
            )
        )

    @rx.event
    def resend(self, staff_id: int) -> Any:
        """Send a fresh invitation link."""
        ip, _ua = self._client()
        return self._staff_act(
            lambda s, p: resend_invitation(session=s, actor=p, staff_id=staff_id, ip=ip),
            "staff.resent_ok",
        )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = StaffPageState
    sid = r["id"].to(int)
    actions = rx.cond(
        r["self"] == "1",
        rx.text(t("staff.you"), size="1", color_scheme="gray"),
        rx.hstack(
            rx.cond(
                r["role"] == "tenant_admin",
                rx.button(
                    t("staff.make_staff"),
                    size="1",
                    variant="soft",
                    on_click=s.set_role(sid, "staff"),
                ),
                rx.button(
                    t("staff.make_admin"),
                    size="1",
                    variant="soft",
                    on_click=s.set_role(sid, "tenant_admin"),
                ),
            ),
            rx.cond(
                r["status"] == "disabled",
                rx.button(
                    t("staff.enable"),
                    size="1",
                    variant="soft",
                    color_scheme="green",
                    on_click=s.set_enabled(sid, True),
                ),
                rx.button(
                    t("staff.disable"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=s.set_enabled(sid, False),
                ),
            ),
            rx.cond(
                r["status"] == "invited",
                rx.button(t("staff.resend"), size="1", variant="ghost", on_click=s.resend(sid)),
            ),
            spacing="2",
        ),
    )
    return rx.table.row(
        rx.table.cell(r["name"]),
        rx.table.cell(r["email"]),
        rx.table.cell(t_var("role", r["role"], ["tenant_admin", "staff"])),
        rx.table.cell(
            rx.badge(
                t_var("status", r["status"], ["invited", "active", "disabled"]),
                color_scheme=rx.match(
                    r["status"], ("active", "green"), ("invited", "blue"), "gray"
                ),
            )
        ),
        rx.table.cell(rx.cond(r["last_login"] != "", r["last_login"], t("common.never"))),
        rx.table.cell(actions),
        id="staff-" + r["email"],
    )


def invite_dialog() -> rx.Component:
    """The invite form in a dialog."""
    s = StaffPageState
    return form_dialog(
        s,
        open_var=s.invite_open,
        on_open_change=s.set_invite_open,
        on_submit=s.invite,
        trigger=rx.button(rx.icon("user-plus", size=16), t("staff.invite"), id="open-invite"),
        title="staff.invite_title",
        description="staff.invite_body",
        fields=[
            field(s, "common.name", "name"),
            field(s, "common.email", "email", type="email"),
            select_field(s, "common.role", "role", ROLES, default_value="staff"),
        ],
        submit_key="staff.send_invite",
        submit_id="send-invite",
    )


@page("/admin/staff", title="Staff", on_load=StaffPageState.load)
def staff_page() -> rx.Component:
    """Staff list."""
    s = StaffPageState
    return admin_layout(
        rx.vstack(
            rx.hstack(
                rx.heading(t("staff.title"), size="6"), rx.spacer(), invite_dialog(), width="100%"
            ),
            form_error(s),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(t("common.name")),
                        rx.table.column_header_cell(t("common.email")),
                        rx.table.column_header_cell(t("common.role")),
                        rx.table.column_header_cell(t("common.status")),
                        rx.table.column_header_cell(t("common.last_login")),
                        rx.table.column_header_cell(t("common.actions")),
                    )
                ),
                rx.table.body(rx.foreach(s.rows, _row)),
                width="100%",
                size="1",
                id="staff-table",
            ),
            spacing="4",
            width="100%",
        ),
        active="staff",
    )
