"""The tenant admin home: who is signed in and the tenant at a glance."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.organization.services import tenant_overview


class AdminHomeState(AppState):
    """Counts for the overview cards."""

    patients: int = 0
    staff_active: int = 0
    staff_invited: int = 0
    timezone: str = ""

    @rx.event
    def load(self) -> Any:
        """Require a signed-in staff member of this tenant, then count."""
        redirect = self._load(PrincipalKind.STAFF)
        if redirect is not None or self.page_status != "ok":
            return redirect
        ov, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: tenant_overview(session=s, actor=p),
            lambda _m, _f: None,
        )
        if ov is not None:
            self.patients, self.staff_active = ov.patients, ov.staff_active
            self.staff_invited, self.timezone = ov.staff_invited, ov.timezone
        return ev


def stat(label: str, value: Any, icon: str, id: str) -> rx.Component:
    """A number with its label."""
    return rx.card(
        rx.hstack(
            rx.icon(icon, size=28, color=AppState.tenant_color),
            rx.vstack(
                rx.text(t(label), size="2", color_scheme="gray"),
                rx.heading(value, size="7", id=id),
                spacing="0",
            ),
            align="center",
            spacing="3",
        ),
        min_width="200px",
    )


@page("/admin", title="Admin", on_load=AdminHomeState.load)
def admin_home() -> rx.Component:
    """Overview."""
    s = AdminHomeState
    return admin_layout(
        rx.vstack(
            rx.heading(
                rx.cond(AppState.lang == "en", "Welcome back, ", "欢迎回来，"),
                AppState.user_name,
                size="6",
                id="admin-welcome",
            ),
            rx.hstack(
                stat("admin.patients", s.patients, "heart-pulse", "stat-patients"),
                stat("admin.staff_count", s.staff_active, "users", "stat-staff"),
                rx.card(
                    rx.vstack(
                        rx.text(t("admin.your_role"), size="2", color_scheme="gray"),
                        rx.badge(
                            t_var("role", AppState.user_role, ["tenant_admin", "staff"]), size="2"
                        ),
                        rx.text(t("admin.timezone"), size="2", color_scheme="gray"),
                        rx.text(s.timezone),
                        spacing="1",
                    ),
                    min_width="200px",
                ),
                spacing="4",
                wrap="wrap",
            ),
            spacing="4",
            width="100%",
        ),
        active="home",
    )
