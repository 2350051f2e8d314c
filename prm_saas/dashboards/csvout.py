"""A chart's data as CSV, labelled in the reader's language."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from prm_saas.dashboards.charts import Chart, Series, Unit, Value

Translate = Callable[[str], str]


def _label(series: Series, t: Translate) -> str:
    return series.label if series.literal else t(series.label)


def _cell(value: Value, unit: Unit) -> str:
    if value is None:
        return "—"
    if unit == Unit.FEN:
        return f"{int(value) / 100:.2f}"
    if unit == Unit.PERCENT:
        return f"{float(value):.1f}"
    return str(int(value)) if float(value).is_integer() else f"{float(value):.2f}"


def chart_csv(chart: Chart, t: Translate) -> str:
    """Header row then one row per x value; previous-period columns follow the
    current ones. Money in yuan; UTF-8 with a BOM so spreadsheet programs read
    Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    suffix = t("dashboard.csv.previous")
    unit = t(f"dashboard.unit.{chart.unit}")
    header = [t("dashboard.csv.x")]
    header += [f"{_label(s, t)} ({unit})" for s in chart.series]
    header += [f"{_label(s, t)} ({unit}, {suffix})" for s in chart.previous]
    writer.writerow(header)
    for i, x in enumerate(chart.x):
        row = [t(x) if chart.x_keys else x]
        for s in (*chart.series, *chart.previous):
            row.append(_cell(s.values[i] if i < len(s.values) else None, chart.unit))
        writer.writerow(row)
    return "\ufeff" + out.getvalue()
