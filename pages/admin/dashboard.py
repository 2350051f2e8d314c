"""The tenant's KPI dashboard (DASHBOARD_VIEW; admins with DASHBOARD_FULL also see
money, the funnel, points, campaigns and cohorts — the service decides).

The controls live in the URL query (?start=&end=&g=&loc=&cmp=1) so a manager
can bookmark or share a view; Apply navigates to the new URL and on_load asks
the service. The page only calls ``tenant_dashboard`` and ``tenant_chart``.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.charts import (
    DashboardMixin,
    chart_grid,
    freshness_line,
    range_controls,
)
from components.i18n import t
from components.layout import admin_layout
from components.routing import page
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.dashboards.tenant import TenantDashboard, tenant_chart, tenant_dashboard


class DashboardPageState(DashboardMixin, AppState):
    """The tenant dashboard: controls, cards in both languages, freshness."""

    def _with_location(self) -> bool:
        return True

    @rx.event
    def load(self) -> Any:
        """Staff with DASHBOARD_VIEW; others get the 404 page."""
        self._clear_view()
        redirect = self._load(PrincipalKind.STAFF, Permission.DASHBOARD_VIEW)
        if redirect is not None or self.page_status != "ok":
            return redirect
        self._read_query()
        args = self._applied()
        tz = self._tenant().timezone

        def read(session: Any, actor: Any) -> TenantDashboard:
            return tenant_dashboard(session=session, actor=actor, **args)

        dash, ev = self._call(PrincipalKind.STAFF, read)
        if dash is None:
            return ev
        self.locations = [
            {"id": str(i), "name_zh": zh, "name_en": en} for i, zh, en in dash.locations
        ]
        self._show_cards(
            dash.charts,
            start=dash.period.start,
            end=dash.period.end,
            location_active=dash.location_id is not None,
            compare=dash.compare,
        )
        self._show_freshness(dash.freshness, tz)
        self.f_start, self.f_end = dash.period.start.isoformat(), dash.period.end.isoformat()
        return None

    @rx.event
    def download_csv(self, key: str) -> Any:
        """One chart of the view in the URL as CSV, labelled in the user's language."""
        return self._csv(PrincipalKind.STAFF, key, tenant_chart)


@page("/admin/dashboard", title="Dashboard", on_load=DashboardPageState.load)
def dashboard_page() -> rx.Component:
    """Bookings, revenue, funnel, rates, utilisation, patients, cohorts, points,
    challenges, campaigns and demographics of the tenant."""
    s = DashboardPageState
    return admin_layout(
        rx.vstack(
            rx.hstack(
                rx.heading(t("dashpage.title"), size="6"),
                rx.spacer(),
                freshness_line(s),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            range_controls(s, with_location=True),
            chart_grid(s, on_csv=s.download_csv),
            spacing="4",
            width="100%",
        ),
        active="dashboard",
    )
