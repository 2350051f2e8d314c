"""A campaign's report (/admin/campaigns/<id>/report) for admins with
CAMPAIGNS_MANAGE: per variant and channel the recipients, pending, sent,
delivered, failed, suppressed (by reason), unique opens and clicks, conversions
and revenue in yuan, the total, and each run with its times in the tenant's zone.

Another tenant's campaign, a missing one and a wrong id all show "not found"
(the service decides); the page only formats what it returns.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.admin_ui import data_table
from components.app_state import AppState
from components.forms import FormMixin, client_id, form_error
from components.i18n import t, t_var
from components.layout import admin_layout
from components.routing import page
from pages.admin.campaigns import status_badge
from prm_saas.accounts.authz import Permission
from prm_saas.accounts.models import PrincipalKind
from prm_saas.campaigns.report import ReportRow, campaign_report
from prm_saas.display import local_time, yuan
from tenants.types import utcnow

RUN_STATUSES = ["running", "paused", "stopped", "done"]
COLUMNS = [
    ("recipients", "mkt.rep.recipients"),
    ("pending", "mkt.rep.pending"),
    ("sent", "mkt.rep.sent"),
    ("delivered", "mkt.rep.delivered"),
    ("failed", "mkt.rep.failed"),
    ("suppressed", "mkt.rep.suppressed"),
    ("opens", "mkt.rep.opens"),
    ("clicks", "mkt.rep.clicks"),
    ("conversions", "mkt.rep.conversions"),
    ("revenue", "mkt.rep.revenue"),
]


def _path_id(state: AppState) -> str:
    """The path segment after "campaigns" (checked by the service, not here)."""
    parts = [p for p in (state.router.url.path or "").split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == "campaigns":
            return parts[i + 1]
    return ""


def row_dict(r: ReportRow) -> dict[str, str]:
    """A report row as the page shows it (suppressed reasons spelled out)."""
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(r.suppressed.items()) if v)
    return {
        "key": f"{r.variant or 'all'}-{r.channel or 'all'}",
        "variant": r.variant,
        "channel": r.channel,
        "recipients": str(r.recipients),
        "pending": str(r.pending),
        "sent": str(r.sent),
        "delivered": str(r.delivered),
        "failed": str(r.failed),
        "suppressed": str(r.suppressed_total),
        "reasons": reasons,
        "opens": str(r.unique_opens),
        "clicks": str(r.unique_clicks),
        "conversions": str(r.conversions),
        "revenue": yuan(r.revenue_fen),
    }


class CampaignReportState(FormMixin, AppState):
    """One campaign's report."""

    shown_id: str = ""  # not "campaign_id": that name is the route argument
    name: str = ""
    status: str = ""
    window: str = ""
    as_of: str = ""
    found: bool = False
    rows: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    total: dict[str, str] = {}  # noqa: RUF012 - Reflex state var
    runs: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var

    @rx.event
    def load(self) -> Any:
        """Admins with CAMPAIGNS_MANAGE; the report of a campaign of this tenant."""
        self._clear()
        self.found = False
        self.rows, self.total, self.runs = [], {}, []
        redirect = self._load(PrincipalKind.STAFF, Permission.CAMPAIGNS_MANAGE)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._read()

    def _read(self) -> Any:
        cid = client_id(_path_id(self))
        self.shown_id = str(cid or "")
        if cid is None:
            self.error = self.tr("error.not_found")
            return None
        tz = self._tenant().timezone
        report, ev = self._run(
            PrincipalKind.STAFF,
            lambda s, p: campaign_report(session=s, actor=p, campaign_id=cid),
            self._fail,
        )
        if report is None:
            return ev
        self.found = True
        self.name, self.status = report.name, report.status
        self.window = str(report.attribution_days)
        self.as_of = local_time(utcnow(), tz)
        self.rows = [row_dict(r) for r in report.rows]
        self.total = row_dict(report.total)
        self.runs = [
            {
                "occurrence": str(r.occurrence),
                "status": r.status,
                "started": r.started_local,
                "finished": r.finished_local,
                "recipients": str(r.recipients),
            }
            for r in report.runs
        ]
        return ev

    @rx.event
    def refresh(self) -> Any:
        """Read the report again."""
        self._clear()
        return self._read()


def _cells(r: Any) -> list[rx.Component]:
    cells = []
    for key, _label in COLUMNS:
        if key == "suppressed":
            cells.append(
                rx.table.cell(
                    r["suppressed"],
                    rx.cond(
                        r["reasons"] != "",
                        rx.text(r["reasons"], size="1", color_scheme="gray"),
                    ),
                )
            )
        else:
            cells.append(rx.table.cell(r[key], id="rep-" + r["key"] + "-" + key))
    return cells


def _report_table() -> rx.Component:
    s = CampaignReportState
    headers = ["mkt.rep.variant", "mkt.rep.channel"] + [label for _k, label in COLUMNS]
    return data_table(
        headers,
        rx.fragment(
            rx.foreach(
                s.rows,
                lambda r: rx.table.row(
                    rx.table.cell(rx.badge(r["variant"], color_scheme="violet")),
                    rx.table.cell(t_var("channel", r["channel"], ["email", "sms", "inapp"])),
                    *_cells(r),
                    id="rep-" + r["key"],
                ),
            ),
            rx.table.row(
                rx.table.cell(rx.text(t("mkt.rep.total"), weight="bold")),
                rx.table.cell(""),
                *_cells(s.total),
                id="rep-total",
                style={"fontWeight": 600},
            ),
        ),
        "report-table",
    )


def _runs() -> rx.Component:
    s = CampaignReportState
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("#"),
                rx.table.column_header_cell(t("common.status")),
                rx.table.column_header_cell(t("mkt.camp.schedule")),
                rx.table.column_header_cell(t("mkt.rep.recipients")),
            )
        ),
        rx.table.body(
            rx.foreach(
                s.runs,
                lambda r: rx.table.row(
                    rx.table.cell(r["occurrence"]),
                    rx.table.cell(t_var("mkt.camp.status", r["status"], RUN_STATUSES)),
                    rx.table.cell(
                        r["started"], rx.cond(r["finished"] != "", " – " + r["finished"], "")
                    ),
                    rx.table.cell(r["recipients"]),
                    id="run-" + r["occurrence"],
                ),
            )
        ),
        width="100%",
        size="1",
        id="runs-table",
    )


@page(
    "/admin/campaigns/[campaign_id]/report",
    title="Campaign report",
    on_load=CampaignReportState.load,
)
def campaign_report_page() -> rx.Component:
    """One campaign's report."""
    s = CampaignReportState
    return admin_layout(
        rx.vstack(
            rx.hstack(
                rx.link(
                    rx.hstack(
                        rx.icon("arrow-left", size=16),
                        t("mkt.camp.back"),
                        align="center",
                        spacing="1",
                    ),
                    href=AppState.base_path + "/admin/campaigns",
                    id="back-to-campaigns",
                ),
                width="100%",
            ),
            rx.hstack(
                rx.heading(t("mkt.rep.title"), ": ", s.name, size="6", id="report-title"),
                rx.cond(s.found, status_badge(s.status, id="report-status")),
                rx.spacer(),
                rx.cond(
                    s.found,
                    rx.button(
                        rx.icon("refresh-cw", size=14),
                        size="1",
                        variant="soft",
                        on_click=s.refresh,
                        id="refresh-report",
                    ),
                ),
                width="100%",
                align="center",
            ),
            form_error(s),
            rx.cond(
                s.found,
                rx.vstack(
                    rx.text(
                        t("mkt.rep.generated"),
                        " ",
                        s.as_of,
                        " · ",
                        t("mkt.camp.attribution_days"),
                        ": ",
                        s.window,
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.cond(
                        s.rows.length() > 0,  # type: ignore[attr-defined]
                        _report_table(),
                        rx.text(t("mkt.rep.no_rows"), color_scheme="gray"),
                    ),
                    rx.cond(s.runs.length() > 0, _runs()),  # type: ignore[attr-defined]
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        active="campaigns",
    )
