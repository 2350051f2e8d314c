"""Celery tasks of automations.

beat (every minute) -> automations.tick: one task per active tenant
  -> automations.tick_tenant (TenantTask): advance the tenant's due enrollments
     (``engine.advance_due``) in batches, one transaction each, then send the
     messages they enqueued through the messaging engine's dispatch.
beat (hourly) -> automations.daily_due: one task per active tenant
  -> automations.daily_tenant (TenantTask): the calendar triggers of the
     tenant's local today (birthday, points about to expire, no visit); keyed
     per day / year / last visit, so the hourly repeats enroll nobody twice.

Two ticks at once (beat firing twice, a redelivered task) never walk a step
twice: due rows are locked (skipped by the other tick) and moved by a
conditional UPDATE, and every message has its own outbox key.
"""

from __future__ import annotations

import logging

from prm_saas.automations.engine import ADVANCE_BATCH, advance_due, scan_daily
from prm_saas.celery_app import TenantTask, app, fan_out
from prm_saas.messaging.tasks import ACTIVE, dispatch_tenant
from tenants.context import current_tenant_id
from tenants.db import tenant_session
from tenants.types import utcnow

log = logging.getLogger(__name__)

TICK_EXPIRES_S = 55
DAILY_EXPIRES_S = 50 * 60
MAX_BATCHES = 50  # per tick; the rest waits for the next minute


def run_tick(tenant_id: int) -> dict[str, int]:
    """Advance the tenant's due enrollments now (batch by batch)."""
    total = {"advanced": 0, "messages": 0, "completed": 0, "exited": 0}
    for _ in range(MAX_BATCHES):
        with tenant_session(tenant_id) as session:
            result = advance_due(session, now=utcnow())
        for k, v in result.as_dict().items():
            total[k] += v
        if result.advanced < ADVANCE_BATCH:
            break
    return total


@app.task(name="automations.tick_tenant", base=TenantTask)
def tick_tenant() -> dict[str, int]:
    """The current tenant's due enrollments; its messages go out at once."""
    tid = current_tenant_id()
    assert tid is not None
    result = run_tick(tid)
    if result["messages"]:
        dispatch_tenant.apply_async(tenant_id=tid)
    if result["advanced"]:
        log.info("automations of tenant %s: %s", tid, result)
    return result


@app.task(name="automations.tick")
def tick() -> int:
    """Beat entry point (every minute): one tick per active tenant."""
    return fan_out(tick_tenant, statuses=ACTIVE, expires=TICK_EXPIRES_S)


@app.task(name="automations.daily_tenant", base=TenantTask)
def daily_tenant() -> dict[str, int]:
    """The current tenant's calendar triggers for its local today."""
    tid = current_tenant_id()
    assert tid is not None
    with tenant_session(tid) as session:
        result = scan_daily(session, now=utcnow()).as_dict()
    log.info("automation scans of tenant %s: %s", tid, result)
    return result


@app.task(name="automations.daily_due")
def daily_due() -> int:
    """Beat entry point (hourly): one calendar scan per active tenant."""
    return fan_out(daily_tenant, statuses=ACTIVE, expires=DAILY_EXPIRES_S)
