"""The platform operators' KPI dashboard: tenants by status, sign-ups, MRR,
churn, usage per tenant and the busiest tenants.

As on the tenant dashboard the controls live in the URL query
(?start=&end=&g=&cmp=1); Apply navigates there and on_load asks the service.
Days are UTC days. The page only calls ``platform_dashboard`` and
``platform_chart``.
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
from components.layout import platform_layout
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.platform.kpis import PlatformDashboard, platform_chart, platform_dashboard


class PlatformDashboardState(DashboardMixin, AppState):
    """The platform dashboard: controls, cards in both languages, freshness."""

    @rx.event
    def load(self) -> Any:
        """Operators only."""
        self._clear_view()
        redirect = self._load(PrincipalKind.OPERATOR)
        if redirect is not None or self.page_status != "ok":
            return redirect
        self._read_query()
        args = self._applied()

        def read(session: Any, actor: Any) -> PlatformDashboard:
            return platform_dashboard(session=session, actor=actor, **args)

        dash, ev = self._call(PrincipalKind.OPERATOR, read)
        if dash is None:
            return ev
        self._show_cards(
            dash.charts,
            start=dash.period.start,
            end=dash.period.end,
            location_active=False,
            compare=dash.compare,
        )
        self._show_freshness(dash.freshness, "UTC")
        self.f_start, self.f_end = dash.period.start.isoformat(), dash.period.end.isoformat()
        return None

    @rx.event
    def download_csv(self, key: str) -> Any:
        """One chart of the view in the URL as CSV, labelled in the user's language."""
        return self._csv(PrincipalKind.OPERATOR, key, platform_chart)


@page(
    "/platform/dashboard",
    title="Platform dashboard",
    on_load=PlatformDashboardState.load,
    tenant=False,
)
def platform_dashboard_page() -> rx.Component:
    """The operators' KPIs."""
    s = PlatformDashboardState
    return platform_layout(
        rx.vstack(
            rx.hstack(
                rx.heading(t("platform_dashboard.title"), size="6"),
                rx.spacer(),
                freshness_line(s),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.text(t("platform_dashboard.utc_note"), size="1", color_scheme="gray"),
            range_controls(s, with_location=False),
            chart_grid(s, on_csv=s.download_csv),
            spacing="4",
            width="100%",
        ),
        active="dashboard",
    )
