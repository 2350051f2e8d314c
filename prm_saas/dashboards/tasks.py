"""Celery tasks of the dashboards.

beat (hourly) -> dashboards.rollup: one task per tenant (suspended ones too:
their managers still read their numbers)
  -> dashboards.rollup_tenant (TenantTask): the tenant's roll-up (finished local
     days, the trailing 14 recomputed), then its platform usage rows (UTC days).

Both steps rewrite whole days, so a repeat or a retry changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from prm_saas.celery_app import TenantTask, app, fan_out
from prm_saas.dashboards.rollup import RollupResult, roll_up
from prm_saas.platform.usage import refresh_usage
from tenants.context import current_tenant_id
from tenants.db import tenant_session
from tenants.types import utcnow

log = logging.getLogger(__name__)

ROLLUP_EXPIRES_S = 50 * 60


def run_tenant(*, tenant_id: int, now: datetime, full: bool = False) -> RollupResult:
    """Roll up one tenant and refresh its usage for the platform."""
    with tenant_session(tenant_id) as session:
        result = roll_up(session, now=now, full=full)
    today = now.astimezone(UTC).date()
    since = today - timedelta(days=1)
    if result.first_day is not None and result.first_day < since:
        since = result.first_day - timedelta(days=1)  # a first or full run: the history too
    days = [since + timedelta(days=i) for i in range((today - since).days + 1)]
    refresh_usage(tenant_id, days, now)
    return result


@app.task(name="dashboards.rollup_tenant", base=TenantTask)
def rollup_tenant() -> dict[str, object]:
    """The current tenant's roll-up at the current time."""
    tid = current_tenant_id()
    assert tid is not None
    result = run_tenant(tenant_id=tid, now=utcnow())
    log.info("dashboard roll-up of tenant %s: %s", tid, result)
    return {
        "rolled_through": result.rolled_through.isoformat() if result.rolled_through else None,
        "rows": result.rows,
        "cohort_cells": result.cohort_cells,
    }


@app.task(name="dashboards.rollup")
def rollup_due() -> int:
    """Beat entry point (hourly): one roll-up per tenant."""
    return fan_out(rollup_tenant, expires=ROLLUP_EXPIRES_S)
