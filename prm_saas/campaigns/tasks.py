"""Celery tasks of campaigns.

beat (every minute) -> campaigns.tick: one task per active tenant
  -> campaigns.tick_tenant (TenantTask): every campaign of the tenant with work
     (a run sending, or a scheduled run due), each in its own transaction
     (``prm_saas.campaigns.release.release_campaign``): start due runs (the
     audience snapshot), release recipients within the throttle, the daily cap
     and quiet hours, finish runs; the released messages go to
     ``messaging.send_batch`` once that transaction has committed.

The platform level cannot see tenant rows (row-level security), so the tick
cannot pick only tenants with due work: each active tenant's task asks its own
database with one indexed query (campaign status, next_run_at) and returns when
there is nothing to do.

Both tasks take an optional ``now`` (ISO 8601) so tests drive the clock;
beat sends none and the current time is used.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from prm_saas.campaigns.release import due_campaign_ids, release_campaign
from prm_saas.celery_app import TenantTask, app, fan_out
from prm_saas.messaging.tasks import ACTIVE
from tenants.context import current_tenant_id
from tenants.db import tenant_session
from tenants.types import utcnow

log = logging.getLogger(__name__)

# A tick still queued after this long is superseded by the next minute's.
TICK_EXPIRES_S = 55
# Recipients released per transaction: the campaign's row is locked while a chunk
# is enqueued, so a manager's pause or stop waits for one chunk at most (a few
# seconds), and a failure loses no more than one chunk's work.
RELEASE_CHUNK = 200
# A tenant's tick stops starting chunks after this long, so it ends before the next
# minute's; what the throttle still allowed is released then. (Recording a message
# costs a few queries, so a very high per-minute throttle is bounded by this.)
TICK_BUDGET_S = 45.0


def _at(now: str | None) -> datetime:
    if not now:
        return utcnow()
    at = datetime.fromisoformat(now)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def tick_tenant_at(*, tenant_id: int, now: datetime) -> dict[str, int]:
    """The tenant's campaign work at ``now``: each campaign in transactions of its
    own, chunk by chunk (one campaign's failure does not hold up the others)."""
    deadline = time.monotonic() + TICK_BUDGET_S
    with tenant_session(tenant_id) as session:
        ids = due_campaign_ids(session, now)
    out = {"campaigns": len(ids), "started": 0, "released": 0, "finished": 0, "failed": 0}
    for cid in ids:
        while True:
            try:
                with tenant_session(tenant_id) as session:
                    r = release_campaign(session, campaign_id=cid, now=now, limit=RELEASE_CHUNK)
            except Exception:
                log.exception("campaign %s of tenant %s failed to release", cid, tenant_id)
                out["failed"] += 1
                break
            out["started"] += r.started
            out["released"] += r.released
            out["finished"] += r.finished
            if r.taken < RELEASE_CHUNK or time.monotonic() > deadline:
                break
    return out


@app.task(name="campaigns.tick_tenant", base=TenantTask)
def tick_tenant(now: str | None = None) -> dict[str, int]:
    """The current tenant's campaign work at ``now`` (ISO; default: the current time)."""
    tid = current_tenant_id()
    assert tid is not None
    result = tick_tenant_at(tenant_id=tid, now=_at(now))
    if result["campaigns"]:
        log.info("campaigns of tenant %s: %s", tid, result)
    return result


@app.task(name="campaigns.tick")
def tick(now: str | None = None) -> int:
    """Beat entry point (every minute): one campaign tick per active tenant."""
    kwargs = {"now": now} if now else None
    return fan_out(tick_tenant, kwargs=kwargs, statuses=ACTIVE, expires=TICK_EXPIRES_S)
