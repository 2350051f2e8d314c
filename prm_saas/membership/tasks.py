"""Celery tasks of membership.

beat (hourly) -> membership.daily_due: one task per active tenant
  -> membership.daily_tenant (TenantTask): the tenant's membership day
     (prm_saas.membership.daily.run_day): expire due points, birthday points,
     level recalculation, the pre-expiry notice.

Hourly so that each tenant's day (its local midnight, when points expire) is
handled soon after it starts, whatever its zone; every step is keyed per day or
per lot, so the runs after the first in a day change nothing.
"""

from __future__ import annotations

import logging

from prm_saas.celery_app import TenantTask, app, fan_out
from prm_saas.membership.daily import run_day
from prm_saas.messaging.tasks import ACTIVE
from tenants.context import current_tenant_id
from tenants.types import utcnow

log = logging.getLogger(__name__)

# A sweep still queued after this long is superseded by the next hour's.
DAILY_EXPIRES_S = 50 * 60


@app.task(name="membership.daily_tenant", base=TenantTask)
def daily_tenant() -> dict[str, int]:
    """The current tenant's membership day at the current time."""
    tid = current_tenant_id()
    assert tid is not None
    result = run_day(tenant_id=tid, now=utcnow()).as_dict()
    log.info("membership day of tenant %s: %s", tid, result)
    return result


@app.task(name="membership.daily_due")
def daily_due() -> int:
    """Beat entry point (hourly): one membership day per active tenant."""
    return fan_out(daily_tenant, statuses=ACTIVE, expires=DAILY_EXPIRES_S)
