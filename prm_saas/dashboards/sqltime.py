"""Local calendar days in SQL: an instant stored in UTC, grouped by the day it
fell on in a tenant's zone (daylight saving included).

PostgreSQL converts with ``timezone(zone, ts)``; SQLite has no zones, so the
engine registers ``prm_local_date`` (tenants.db) and the same expression calls
it. The zone is rendered as a literal, checked to be a zone name, so a SELECT
and its GROUP BY compile to the same expression on PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$")


def _zone(tz: str) -> str:
    if not _ZONE.match(tz):
        raise ValueError(f"not a time zone name: {tz!r}")
    return tz


class local_date(FunctionElement[Any]):
    """``local_date(column, "Asia/Shanghai")``: the local calendar date of an instant."""

    type = sa.Date()
    # The zone is part of the statement's cache key: the same statement for
    # another zone is compiled (and cached) on its own.
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        *FunctionElement._traverse_internals,
        ("tz", InternalTraversal.dp_string),
    ]
    name = "local_date"

    def __init__(self, column: Any, tz: str) -> None:
        self.tz = _zone(tz)
        super().__init__(column)


class local_month(FunctionElement[Any]):
    """The first day of the local month of an instant."""

    type = sa.Date()
    # The zone is part of the statement's cache key: the same statement for
    # another zone is compiled (and cached) on its own.
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        *FunctionElement._traverse_internals,
        ("tz", InternalTraversal.dp_string),
    ]
    name = "local_month"

    def __init__(self, column: Any, tz: str) -> None:
        self.tz = _zone(tz)
        super().__init__(column)


def _only_arg(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    (arg,) = list(element.clauses)
    return str(compiler.process(arg, **kw))


@compiles(local_date, "postgresql")
def _local_date_pg(element: local_date, compiler: Any, **kw: Any) -> str:
    return f"CAST(timezone('{element.tz}', {_only_arg(element, compiler, **kw)}) AS DATE)"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    return f"prm_local_date({_only_arg(element, compiler, **kw)}, '{element.tz}')"


@compiles(local_month, "postgresql")
def _local_month_pg(element: local_month, compiler: Any, **kw: Any) -> str:
    arg = _only_arg(element, compiler, **kw)
    return f"CAST(date_trunc('month', timezone('{element.tz}', {arg})) AS DATE)"


@compiles(local_month, "sqlite")
def _local_month_sqlite(element: local_month, compiler: Any, **kw: Any) -> str:
    arg = _only_arg(element, compiler, **kw)
    return f"(substr(prm_local_date({arg}, '{element.tz}'), 1, 7) || '-01')"
