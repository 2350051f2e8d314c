"""The data of one chart, as both dashboards return it and the pages draw it.

Labels are i18n keys (``dashboard.series.*``) unless a series is data (a
challenge's title, a cohort month): pages and the CSV export translate them.
Money is integer fen; percentages are 0..100 floats; a rate without a
denominator is None.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Unit(enum.StrEnum):
    """What the values measure (drives number formats)."""

    COUNT = "count"
    FEN = "fen"
    PERCENT = "percent"
    POINTS = "points"


class Kind(enum.StrEnum):
    """How a chart is drawn."""

    LINE = "line"
    BAR = "bar"
    STACKED = "stacked"
    FUNNEL = "funnel"
    HEATMAP = "heatmap"
    PIE = "pie"


Value = float | int | None


@dataclass(frozen=True)
class Series:
    """One line, bar group or heatmap row."""

    label: str
    values: list[Value]
    literal: bool = False


@dataclass(frozen=True)
class Chart:
    """One chart: x categories and series aligned with them."""

    key: str
    kind: Kind
    unit: Unit
    x: list[str]
    series: list[Series]
    previous: list[Series] = field(default_factory=list)
    totals: Mapping[str, Value] = field(default_factory=dict)
    x_keys: bool = False
    by_location: bool = True

    @property
    def empty(self) -> bool:
        """Whether there is nothing to draw: every value missing, or every count
        zero (a rate of 0 % was measured: no churn, no no-shows, is news)."""
        if self.unit == Unit.PERCENT:
            return all(v is None for s in self.series for v in s.values)
        return not any(v for s in self.series for v in s.values)


def rate(part: int | float | None, whole: int | float | None) -> float | None:
    """``part`` as a percent of ``whole`` with one decimal; None without a whole."""
    if not whole:
        return None
    return round(100.0 * float(part or 0) / float(whole), 1)


def delta_percent(current: int | float | None, previous: int | float | None) -> float | None:
    """The change from ``previous`` to ``current`` in percent; None without a base."""
    if not previous:
        return None
    return round(100.0 * (float(current or 0) - float(previous)) / float(previous), 1)
