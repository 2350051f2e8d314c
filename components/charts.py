"""Dashboard pieces shared by the tenant and the platform dashboards.

- ``figure(chart, t, locale)``: a Plotly figure for one ``Chart`` (line, bar,
  stacked, funnel, heatmap, pie), previous-period series dashed / lighter,
  money in yuan with ¥ and thousands separators, percents with %, dates as
  dates, legend under the chart, a fixed height.
- ``chart_view`` / ``chart_views``: what a page state holds per chart and
  language (title, headline totals, the figure as JSON, empty state, hint).
- ``DashboardMixin``: the state of the range controls (mirrored in the URL
  query so a view can be bookmarked), the cards in both languages, the error
  of the last request in both languages and the freshness line.
- Components: ``range_controls``, ``chart_grid`` / ``chart_card``,
  ``freshness_line``, ``dashboard_error``.

Both languages are prepared on the server and switched in the browser (like
``components.i18n.t``), so switching the language needs no round trip and an
error already shown follows the switch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import reflex as rx

from components.app_state import AppState, SessionExpired
from components.i18n import t as t_ui
from prm_saas.dashboards.charts import Chart, Kind, Series, Unit, Value, delta_percent
from prm_saas.dashboards.csvout import chart_csv
from prm_saas.i18n import MESSAGES, translate
from tenants.errors import DomainError

T = TypeVar("T")
Translate = Callable[..., str]

LOCALES = ("zh-CN", "en")
HEIGHT = 300
# Colors of the series, in order; the previous period reuses its series' color.
PALETTE = (
    "#0f766e",
    "#2563eb",
    "#d97706",
    "#dc2626",
    "#7c3aed",
    "#059669",
    "#db2777",
    "#4b5563",
)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MONTH = re.compile(r"^\d{4}-\d{2}$")
_SAFE_KEY = re.compile(r"[^a-z0-9_]+")


def translator(locale: str) -> Translate:
    """``t(key, **params)`` in ``locale`` (the server-side translator)."""

    def t(key: str, **params: Any) -> str:
        return translate(key, locale, **params)

    return t


# --- numbers ----------------------------------------------------------------


def _scaled(value: Value, unit: Unit) -> float | int | None:
    """A value as drawn: fen become yuan."""
    if value is None:
        return None
    return value / 100 if unit == Unit.FEN else value


def format_value(value: Value, unit: Unit) -> str:
    """A headline number: ¥1,234.50, 12.5%, 1,234."""
    if value is None:
        return "—"
    if unit == Unit.FEN:
        sign = "-" if value < 0 else ""
        return f"{sign}¥{abs(value) / 100:,.2f}"
    if unit == Unit.PERCENT:
        return f"{float(value):.1f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{float(value):,.1f}"


def format_delta(delta: float | None) -> str:
    """A change in percent with its sign: +12.5%, -3.0%."""
    if delta is None:
        return ""
    return f"{delta:+.1f}%"


def _hover_value(unit: Unit, var: str = "y") -> str:
    if unit == Unit.FEN:
        return f"¥%{{{var}:,.2f}}"
    if unit == Unit.PERCENT:
        return f"%{{{var}:.1f}}%"
    return f"%{{{var}:,}}"


def _value_axis(unit: Unit) -> dict[str, Any]:
    axis: dict[str, Any] = {"rangemode": "tozero", "gridcolor": "rgba(128,128,128,0.2)"}
    if unit == Unit.FEN:
        axis.update(tickprefix="¥", tickformat=",~f", separatethousands=True)
    elif unit == Unit.PERCENT:
        axis.update(ticksuffix="%", tickformat="~f")
    else:
        axis.update(tickformat=",~f", separatethousands=True)
    return axis


# --- labels and the x axis ----------------------------------------------------------------


def series_label(series: Series, t: Translate) -> str:
    """A series' legend label: translated unless it is data."""
    return series.label if series.literal else t(series.label)


def x_labels(chart: Chart, t: Translate) -> list[str]:
    """The x categories as shown: translated when they are keys."""
    return [t(x) for x in chart.x] if chart.x_keys else list(chart.x)


def date_axis(chart: Chart) -> str | None:
    """ "day" when every x is an ISO date, "month" when every x is a month, else None."""
    if chart.x_keys or not chart.x:
        return None
    if all(_ISO_DAY.match(x) for x in chart.x):
        return "day"
    if all(_ISO_MONTH.match(x) for x in chart.x):
        return "month"
    return None


def _x_axis(chart: Chart, locale: str) -> dict[str, Any]:
    kind = date_axis(chart)
    en = locale == "en"
    if kind == "day":
        return {
            "type": "date",
            "tickformat": "%b %-d" if en else "%m-%d",
            "hoverformat": "%b %-d, %Y" if en else "%Y-%m-%d",
            "showgrid": False,
        }
    if kind == "month":
        return {
            "type": "date",
            "tickformat": "%b %Y" if en else "%Y-%m",
            "hoverformat": "%b %Y" if en else "%Y-%m",
            "dtick": "M1",
            "showgrid": False,
        }
    return {"type": "category", "showgrid": False, "automargin": True}


# --- figures ----------------------------------------------------------------


def _layout(chart: Chart, locale: str, *, legend: bool) -> dict[str, Any]:
    return {
        "height": HEIGHT,
        "autosize": True,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "separators": ".,",
        "font": {"size": 12},
        "showlegend": legend,
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.12, "yanchor": "top"},
        "hoverlabel": {"namelength": -1},
        "meta": {"chart": chart.key, "kind": str(chart.kind), "unit": str(chart.unit)},
    }


def _empty_figure(chart: Chart, t: Translate, locale: str) -> go.Figure:
    layout = _layout(chart, locale, legend=False)
    layout.update(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": t("dashpage.empty"),
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 14, "color": "#6b7280"},
            }
        ],
    )
    return go.Figure(layout=layout)


def _xy_traces(chart: Chart, t: Translate, xs: list[str]) -> list[Any]:
    suffix = t("dashpage.previous_suffix")
    hover = _hover_value(chart.unit)
    traces: list[Any] = []
    bars = chart.kind in (Kind.BAR, Kind.STACKED)
    for i, s in enumerate(chart.series):
        color = PALETTE[i % len(PALETTE)]
        ys = [_scaled(v, chart.unit) for v in s.values]
        name = series_label(s, t)
        if bars:
            traces.append(
                go.Bar(
                    x=xs,
                    y=ys,
                    name=name,
                    marker={"color": color},
                    hovertemplate=hover,
                    legendgroup=f"s{i}",
                )
            )
        else:
            traces.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    name=name,
                    mode="lines+markers",
                    line={"color": color, "width": 2},
                    marker={"size": 5},
                    connectgaps=False,
                    hovertemplate=hover,
                    legendgroup=f"s{i}",
                )
            )
    for i, s in enumerate(chart.previous):
        color = PALETTE[i % len(PALETTE)]
        ys = [_scaled(v, chart.unit) for v in s.values][: len(xs)]
        name = series_label(s, t) + suffix
        if chart.kind == Kind.BAR:
            traces.append(
                go.Bar(
                    x=xs[: len(ys)],
                    y=ys,
                    name=name,
                    opacity=0.4,
                    hovertemplate=hover,
                    marker={"color": color, "pattern": {"shape": "/"}},
                    legendgroup=f"p{i}",
                )
            )
        else:
            # Lines, and the previous period of a stacked chart: dashed, lighter.
            traces.append(
                go.Scatter(
                    x=xs[: len(ys)],
                    y=ys,
                    name=name,
                    mode="lines",
                    opacity=0.6,
                    line={"color": color, "width": 2, "dash": "dash"},
                    connectgaps=False,
                    hovertemplate=hover,
                    legendgroup=f"p{i}",
                )
            )
    return traces


def funnel_text(values: Sequence[Value], unit: Unit) -> list[str]:
    """Each step's value and its share of the first step (no share without one)."""
    first = values[0] if values else None
    out = []
    for v in values:
        shown = format_value(v or 0, unit)
        out.append(f"{shown} ({100 * (v or 0) / first:.0f}%)" if first else shown)
    return out


def figure(chart: Chart, t: Translate, locale: str) -> go.Figure:
    """The Plotly figure of ``chart`` with labels in ``locale`` (``t`` translates).

    An empty chart gives a figure with hidden axes and the "no data" message.
    """
    if chart.empty:
        return _empty_figure(chart, t, locale)
    xs = x_labels(chart, t)
    multi = len(chart.series) + len(chart.previous) > 1
    layout = _layout(chart, locale, legend=multi)
    if chart.kind in (Kind.LINE, Kind.BAR, Kind.STACKED):
        fig = go.Figure(data=_xy_traces(chart, t, xs), layout=layout)
        fig.update_layout(
            xaxis=_x_axis(chart, locale),
            yaxis=_value_axis(chart.unit),
            barmode="stack" if chart.kind == Kind.STACKED else "group",
            hovermode="x unified",
        )
        return fig
    if chart.kind == Kind.FUNNEL:
        suffix = t("dashpage.previous_suffix")
        traces = [
            go.Funnel(
                y=xs,
                x=[_scaled(v, chart.unit) or 0 for v in s.values],
                name=series_label(s, t) + (suffix if prev else ""),
                text=funnel_text(s.values, chart.unit),
                textinfo="text",
                hovertemplate="%{y}: %{text}<extra>%{fullData.name}</extra>",
                opacity=0.45 if prev else None,
                marker={"color": PALETTE[i % len(PALETTE)]},
            )
            for prev, group in ((False, chart.series), (True, chart.previous))
            for i, s in enumerate(group)
        ]
        fig = go.Figure(data=traces, layout=layout)
        fig.update_layout(yaxis={"automargin": True}, funnelmode="group")
        return fig
    if chart.kind == Kind.HEATMAP:
        layout["showlegend"] = False
        z = [[_scaled(v, chart.unit) for v in s.values] for s in chart.series]
        ys = [series_label(s, t) for s in chart.series]
        fig = go.Figure(
            data=[
                go.Heatmap(
                    x=xs,
                    y=ys,
                    z=z,
                    colorscale="Teal",
                    xgap=2,
                    ygap=2,
                    hoverongaps=False,
                    text=[
                        ["" if v is None else format_value(v, chart.unit) for v in s.values]
                        for s in chart.series
                    ],
                    texttemplate="%{text}",
                    hovertemplate="%{y} · %{x}: "
                    + _hover_value(chart.unit, "z")
                    + "<extra></extra>",
                    colorbar={"ticksuffix": "%" if chart.unit == Unit.PERCENT else "", "len": 0.9},
                )
            ],
            layout=layout,
        )
        fig.update_layout(
            xaxis={"type": "category", "side": "top", "automargin": True},
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        )
        return fig
    # Pie: the first series over the x categories.
    s = chart.series[0]
    layout["showlegend"] = True
    fig = go.Figure(
        data=[
            go.Pie(
                labels=xs,
                values=[_scaled(v, chart.unit) or 0 for v in s.values],
                name=series_label(s, t),
                hole=0.45,
                sort=False,
                textinfo="value+percent",
                marker={"colors": list(PALETTE)},
                hovertemplate="%{label}: " + _hover_value(chart.unit, "value") + "<extra></extra>",
            )
        ],
        layout=layout,
    )
    return fig


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """A figure as plain JSON for a state var, without the template (the
    component supplies the light or dark one)."""
    data: dict[str, Any] = json.loads(fig.to_json())
    data.get("layout", {}).pop("template", None)
    return data


# --- what the page state holds ----------------------------------------------------------------


def csv_filename(key: str, start: date | str, end: date | str) -> str:
    """``bookings-2026-11-01_2026-11-30.csv``."""
    safe = _SAFE_KEY.sub("_", key.lower()).strip("_") or "chart"
    return f"{safe}-{start}_{end}.csv"


def _total_label(key: str, t: Translate) -> str:
    """A headline's label: the dashboards' catalog, else the pages' one."""
    for full in (f"dashboard.total.{key}", f"dashpage.total.{key}"):
        if full in MESSAGES:
            return t(full)
    return key


def chart_view(
    chart: Chart, locale: str, *, location_active: bool = False, compare: bool = True
) -> dict[str, Any]:
    """One chart card's content in ``locale``: title, totals, figure, hint."""
    t = translator(locale)
    current = chart.totals.get("current")
    previous = chart.totals.get("previous")
    has_previous = compare and "previous" in chart.totals
    delta = delta_percent(current, previous) if has_previous else None
    extras = [
        f"{_total_label(k, t)}: {format_value(v, Unit.FEN if k.endswith('_fen') else chart.unit)}"
        for k, v in chart.totals.items()
        if k not in ("current", "previous")
    ]
    return {
        "key": chart.key,
        "title": t(f"dashboard.chart.{chart.key}"),
        "empty": chart.empty,
        "empty_text": t("dashpage.empty"),
        "fig": {} if chart.empty else figure_json(figure(chart, t, locale)),
        "has_current": "current" in chart.totals,
        "current_label": t("dashboard.total.current"),
        "current": format_value(current, chart.unit),
        "has_previous": has_previous,
        "previous_label": t("dashboard.total.previous"),
        "previous": format_value(previous, chart.unit),
        "delta": format_delta(delta) if delta is not None else t("dashpage.no_base"),
        "delta_dir": "" if delta is None else ("up" if delta > 0 else "down" if delta < 0 else ""),
        "extras": " · ".join(extras),
        "hint": t("dashpage.not_by_location") if location_active and not chart.by_location else "",
        "csv_title": t("dashpage.csv_title"),
    }


def chart_views(
    charts: Sequence[Chart], *, location_active: bool = False, compare: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """The cards of ``charts`` in each language: ``{"zh-CN": [...], "en": [...]}``."""
    return {
        loc: [chart_view(c, loc, location_active=location_active, compare=compare) for c in charts]
        for loc in LOCALES
    }


def freshness_text(
    *,
    rolled_through: date | None,
    rolled_at: datetime | None,
    live_from: date | None,
    computed_at: datetime,
    tz: str,
    locale: str,
) -> str:
    """ "按日汇总至 11-30（02:05 更新），今日实时 10:42" in the tenant's zone."""
    t = translator(locale)
    zone = ZoneInfo(tz)
    en = locale == "en"

    def day(d: date) -> str:
        return f"{d:%b} {d.day}" if en else f"{d:%m-%d}"

    def clock(at: datetime) -> str:
        return at.astimezone(zone).strftime("%H:%M")

    parts: list[str] = []
    if rolled_through is not None:
        at = clock(rolled_at) if rolled_at is not None else "—"
        parts.append(t("dashpage.fresh.rolled", through=day(rolled_through), at=at))
    else:
        parts.append(t("dashpage.fresh.not_rolled"))
    if live_from is not None:
        today = computed_at.astimezone(zone).date()
        now = clock(computed_at)
        if live_from >= today:
            parts.append(t("dashpage.fresh.live_today", now=now))
        else:
            parts.append(t("dashpage.fresh.live_from", since=day(live_from), now=now))
    return t("dashpage.fresh.sep").join(parts)


# --- state ----------------------------------------------------------------


class DashboardMixin(rx.State, mixin=True):
    """The controls (mirrored in the URL query), the cards and the last error.

    The page state adds its own ``load`` (on_load) and ``download_csv``; it
    calls ``_read_query()`` then its service and ``_show_cards`` /
    ``_show_error``.
    """

    f_start: str = ""
    f_end: str = ""
    f_g: str = ""
    f_loc: str = ""
    f_cmp: bool = False
    err_zh: str = ""
    err_en: str = ""
    fresh_zh: str = ""
    fresh_en: str = ""
    range_zh: str = ""
    range_en: str = ""
    cards_zh: list[dict[str, Any]] = []  # noqa: RUF012 - Reflex state var
    cards_en: list[dict[str, Any]] = []  # noqa: RUF012 - Reflex state var
    has_cards: bool = False
    locations: list[dict[str, str]] = []  # noqa: RUF012 - Reflex state var
    # The period of the cards shown (CSV file names), as ISO dates.
    _shown_start: str = ""
    _shown_end: str = ""

    @rx.event
    def set_f_start(self, value: str) -> None:
        """The start date typed."""
        self.f_start = value if isinstance(value, str) else ""

    @rx.event
    def set_f_end(self, value: str) -> None:
        """The end date typed."""
        self.f_end = value if isinstance(value, str) else ""

    @rx.event
    def set_f_g(self, value: str) -> None:
        """The granularity chosen."""
        self.f_g = value if isinstance(value, str) else ""

    @rx.event
    def set_f_loc(self, value: str) -> None:
        """The location chosen."""
        self.f_loc = value if isinstance(value, str) else ""

    @rx.event
    def set_f_cmp(self, value: bool) -> None:
        """Compare with the previous period, or not."""
        self.f_cmp = value is True

    @rx.event
    def apply(self) -> Any:
        """Put the controls in the URL; the page's on_load then computes the view
        (so every view can be bookmarked and shared)."""
        page: Any = self
        query = {
            k: v
            for k, v in (
                ("start", self.f_start[:20]),
                ("end", self.f_end[:20]),
                ("g", self.f_g[:10]),
                ("loc", self.f_loc[:12]),
                ("cmp", "1" if self.f_cmp else ""),
            )
            if v
        }
        path = page.router.url.path or "/"
        return rx.redirect(path + ("?" + urlencode(query) if query else ""))

    # --- helpers for the page state ------------------------------------------------------

    def _query(self, name: str) -> str:
        page: Any = self
        value = page.router.url.query_parameters.get(name, "")
        if isinstance(value, list):
            value = value[0] if value else ""
        return str(value)[:40] if value is not None else ""

    def _read_query(self) -> None:
        """The controls from the URL (what a bookmark or a shared link says)."""
        self.f_start = self._query("start")
        self.f_end = self._query("end")
        self.f_g = self._query("g")
        self.f_loc = self._query("loc")
        self.f_cmp = self._query("cmp") in ("1", "true", "on")

    def _with_location(self) -> bool:
        """Whether the page has a location filter (the tenant dashboard does)."""
        return False

    def _applied(self) -> dict[str, Any]:
        """The view in the URL, as the user sent it (the service checks it)."""
        args: dict[str, Any] = {
            "start": self._query("start") or None,
            "end": self._query("end") or None,
            "granularity": self._query("g") or None,
            "compare": self._query("cmp") in ("1", "true", "on"),
        }
        if self._with_location():
            args["location_id"] = self._query("loc") or None
        return args

    def _csv(self, kind: Any, key: object, fetch: Callable[..., Chart]) -> Any:
        """One chart of the view in the URL as a CSV download in the user's
        language; ``fetch(session=, actor=, key=, **view)`` is the page's service."""
        self.err_zh = self.err_en = ""
        if not isinstance(key, str):
            return None
        args = {**self._applied(), "key": key[:40]}
        chart, ev = self._call(
            kind, lambda session, actor: fetch(session=session, actor=actor, **args)
        )
        if chart is None:
            return ev
        page: Any = self
        return rx.download(
            data=chart_csv(chart, translator(page.lang)),
            filename=csv_filename(
                chart.key, self._shown_start or "start", self._shown_end or "end"
            ),
            mime_type="text/csv;charset=utf-8",
        )

    def _clear_view(self) -> None:
        self.err_zh = self.err_en = ""
        self.cards_zh, self.cards_en = [], []
        self.has_cards = False
        self.fresh_zh = self.fresh_en = self.range_zh = self.range_en = ""
        self._shown_start = self._shown_end = ""

    def _show_error(self, exc: DomainError) -> None:
        self.err_zh = translate(exc.key, "zh-CN", **exc.params)
        self.err_en = translate(exc.key, "en", **exc.params)

    def _call(self, kind: Any, fn: Callable[[Any, Any], T]) -> tuple[T | None, Any]:
        """Run one read as the signed-in principal of ``kind`` (a page state is
        an AppState); a user error becomes the message next to the controls in
        both languages. Returns (result, event): the event is the login
        redirect when the session expired."""
        page: Any = self
        try:
            with page._uow(kind) as (session, principal):
                return fn(session, principal), None
        except SessionExpired:
            return None, page._to_login(kind)
        except DomainError as exc:
            self._show_error(exc)
            return None, None

    def _show_cards(
        self,
        charts: Sequence[Chart],
        *,
        start: date,
        end: date,
        location_active: bool,
        compare: bool,
    ) -> None:
        views = chart_views(charts, location_active=location_active, compare=compare)
        self.cards_zh, self.cards_en = views["zh-CN"], views["en"]
        self.has_cards = bool(charts)
        self._shown_start, self._shown_end = start.isoformat(), end.isoformat()
        for loc in LOCALES:
            text = translate("dashpage.range", loc, start=start.isoformat(), end=end.isoformat())
            if loc == "en":
                self.range_en = text
            else:
                self.range_zh = text

    def _show_freshness(self, fresh: Any, tz: str) -> None:
        """``fresh``: a ``Freshness`` (rolled_through, rolled_at, live_from, computed_at)."""
        args = {
            "rolled_through": fresh.rolled_through,
            "rolled_at": fresh.rolled_at,
            "live_from": fresh.live_from,
            "computed_at": fresh.computed_at,
            "tz": tz,
        }
        self.fresh_zh = freshness_text(**args, locale="zh-CN")
        self.fresh_en = freshness_text(**args, locale="en")


# --- components ----------------------------------------------------------------


def _en() -> rx.Var[bool]:
    return AppState.lang == "en"


def _both(zh: Any, en: Any) -> Any:
    return rx.cond(_en(), en, zh)


def _native_select(options: list[rx.Component], **props: Any) -> rx.Component:
    return rx.el.select(
        *options,
        style={
            "padding": "6px 8px",
            "borderRadius": "6px",
            "border": f"1px solid {rx.color('gray', 7)}",
            "background": "transparent",
            "minHeight": "32px",
        },
        **props,
    )


def _labelled(label_key: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(t_ui(label_key), size="1", color_scheme="gray"), control, spacing="1")


def range_controls(state: Any, *, with_location: bool) -> rx.Component:
    """Start / end dates, granularity, location (tenant dashboard), compare and
    Apply; the last error in the user's language below them."""
    loc_select = _labelled(
        "dashpage.location",
        _native_select(
            [
                rx.el.option(t_ui("dashpage.all_locations"), value=""),
                rx.foreach(
                    state.locations,
                    lambda loc: rx.el.option(
                        _both(loc["name_zh"], loc["name_en"]), value=loc["id"]
                    ),
                ),
            ],
            id="dash-loc",
            value=state.f_loc,
            on_change=state.set_f_loc,
        ),
    )
    return rx.vstack(
        rx.flex(
            _labelled(
                "dashpage.start",
                rx.input(
                    type="date", id="dash-start", value=state.f_start, on_change=state.set_f_start
                ),
            ),
            _labelled(
                "dashpage.end",
                rx.input(type="date", id="dash-end", value=state.f_end, on_change=state.set_f_end),
            ),
            _labelled(
                "dashpage.granularity",
                _native_select(
                    [
                        rx.el.option(t_ui("dashpage.gran.auto"), value=""),
                        *[
                            rx.el.option(t_ui(f"dashpage.gran.{g}"), value=g)
                            for g in ("day", "week", "month")
                        ],
                    ],
                    id="dash-g",
                    value=state.f_g,
                    on_change=state.set_f_g,
                ),
            ),
            loc_select if with_location else rx.fragment(),
            rx.hstack(
                rx.switch(id="dash-cmp", checked=state.f_cmp, on_change=state.set_f_cmp),
                rx.text(t_ui("dashpage.compare"), size="2"),
                align="center",
                spacing="2",
                min_height="32px",
            ),
            rx.button(
                rx.icon("refresh-cw", size=14),
                t_ui("dashpage.apply"),
                id="dash-apply",
                on_click=state.apply,
            ),
            wrap="wrap",
            gap="3",
            align="end",
            width="100%",
        ),
        dashboard_error(state),
        width="100%",
        spacing="2",
    )


def dashboard_error(state: Any) -> rx.Component:
    """The last request's error, in the user's language (follows a language switch)."""
    return rx.cond(
        state.err_zh != "",
        rx.callout(
            _both(state.err_zh, state.err_en),
            icon="circle-alert",
            color_scheme="red",
            id="dash-error",
            width="100%",
        ),
    )


def freshness_line(state: Any) -> rx.Component:
    """How fresh the numbers are, in the tenant's zone."""
    return rx.cond(
        state.fresh_zh != "",
        rx.hstack(
            rx.icon("clock", size=14),
            rx.text(_both(state.fresh_zh, state.fresh_en), size="1", id="dash-freshness"),
            rx.cond(
                state.range_zh != "",
                rx.text("· ", _both(state.range_zh, state.range_en), size="1", id="dash-range"),
            ),
            color=rx.color("gray", 11),
            align="center",
            spacing="1",
        ),
    )


def _totals(card: Any) -> rx.Component:
    delta_color = rx.match(
        card["delta_dir"], ("up", rx.color("green", 11)), ("down", rx.color("red", 11)), "inherit"
    )
    return rx.hstack(
        rx.cond(
            card["has_current"],
            rx.vstack(
                rx.text(card["current_label"], size="1", color_scheme="gray"),
                rx.text(card["current"], size="5", weight="bold", class_name="dash-current"),
                spacing="0",
            ),
        ),
        rx.cond(
            card["has_previous"],
            rx.vstack(
                rx.text(card["previous_label"], size="1", color_scheme="gray"),
                rx.hstack(
                    rx.text(card["previous"], size="3", class_name="dash-previous"),
                    rx.text(card["delta"], size="2", color=delta_color, class_name="dash-delta"),
                    align="baseline",
                    spacing="2",
                ),
                spacing="0",
            ),
        ),
        rx.cond(card["extras"] != "", rx.text(card["extras"], size="1", color_scheme="gray")),
        spacing="5",
        align="end",
        wrap="wrap",
    )


def chart_card(card: Any, *, on_csv: Any) -> rx.Component:
    """One chart: title, headline totals, the graph (or the empty state), a
    CSV button; ``card`` is an item of ``cards_zh``/``cards_en``, ``on_csv`` the
    page's event handler taking the chart key."""
    key = card["key"].to(str)
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(card["title"], size="3", class_name="dash-title"),
                rx.spacer(),
                rx.button(
                    rx.icon("download", size=12),
                    "CSV",
                    size="1",
                    variant="soft",
                    title=card["csv_title"],
                    id="csv-" + key,
                    on_click=on_csv(key),
                ),
                width="100%",
                align="center",
            ),
            _totals(card),
            rx.cond(
                card["hint"] != "",
                rx.text(card["hint"], size="1", color_scheme="amber", class_name="dash-hint"),
            ),
            rx.cond(
                card["empty"],
                rx.center(
                    rx.vstack(
                        rx.icon("chart-no-axes-column", size=28, color=rx.color("gray", 8)),
                        rx.text(card["empty_text"], size="2", color_scheme="gray"),
                        align="center",
                        spacing="2",
                    ),
                    height=f"{HEIGHT}px",
                    width="100%",
                    class_name="dash-empty",
                ),
                rx.plotly(
                    data=card["fig"],
                    config={"displaylogo": False, "displayModeBar": False, "responsive": True},
                    locale=rx.cond(_en(), "en", "zh-CN"),
                    style={"width": "100%", "height": f"{HEIGHT}px"},
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        id="chart-" + key,
        class_name="dash-card",
        width="100%",
        min_width="0",
    )


def chart_grid(state: Any, *, on_csv: Any) -> rx.Component:
    """The cards in a responsive grid: two columns on a desktop, one on a phone."""

    def grid(cards: Any) -> rx.Component:
        return rx.grid(
            rx.foreach(cards, lambda c: chart_card(c, on_csv=on_csv)),
            columns=rx.breakpoints(initial="1", md="2"),
            gap="4",
            width="100%",
            id="dash-grid",
        )

    return rx.cond(_en(), grid(state.cards_en), grid(state.cards_zh))
