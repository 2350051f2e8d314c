"""Celery tasks of health challenges.

beat (daily) -> challenges.nudge_due: one task per active tenant
  -> challenges.nudge_tenant (TenantTask): participants who missed yesterday
     (the tenant's local yesterday) get one nudge; the dedupe key per
     participant per day makes a repeated run record nothing new.
"""

from __future__ import annotations

from prm_saas.celery_app import TenantTask, app, fan_out
from prm_saas.challenges.services import nudge_missed
from prm_saas.messaging.tasks import ACTIVE
from tenants.context import current_tenant_id
from tenants.db import tenant_session
from tenants.types import utcnow

# A daily sweep still queued after this long is superseded by tomorrow's.
NUDGE_EXPIRES_S = 20 * 60 * 60


@app.task(name="challenges.nudge_tenant", base=TenantTask)
def nudge_tenant() -> int:
    """Nudge the current tenant's participants who missed yesterday."""
    tid = current_tenant_id()
    assert tid is not None
    with tenant_session(tid) as session:
        return nudge_missed(session=session, now=utcnow())


@app.task(name="challenges.nudge_due")
def nudge_due() -> int:
    """Beat entry point (daily): one nudge sweep per active tenant."""
    return fan_out(nudge_tenant, statuses=ACTIVE, expires=NUDGE_EXPIRES_S)
