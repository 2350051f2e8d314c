"""Celery tasks of booking.

beat (every minute) -> booking.expire_due: one task per tenant
  -> booking.expire_tenant (TenantTask): unpaid orders past their hold expire
     (orders.expire_unpaid, which asks Stripe first, so a payment that went
     through is kept), then held bookings past their hold expire
     (booking.expire_holds): their seats go back, or to the next on the
     waiting list.

Both steps are conditional updates: beat firing twice, or a task delivered
twice, expires nothing twice.
"""

from __future__ import annotations

import importlib
import logging

from prm_saas.booking.waitlist import expire_holds
from prm_saas.celery_app import TenantTask, app, fan_out
from prm_saas.messaging.tasks import ACTIVE
from tenants.context import current_tenant_id
from tenants.db import tenant_session
from tenants.types import utcnow

log = logging.getLogger(__name__)

# A sweep still queued after this long is superseded by the next minute's.
EXPIRE_EXPIRES_S = 55


def _expire_unpaid() -> object:
    try:
        orders = importlib.import_module("prm_saas.orders.services")
    except ImportError:
        return None
    return getattr(orders, "expire_unpaid", None)


@app.task(name="booking.expire_tenant", base=TenantTask)
def expire_tenant() -> dict[str, int]:
    """Expire the current tenant's lapsed holds (orders first, then bookings)."""
    tid = current_tenant_id()
    assert tid is not None
    now = utcnow()
    orders_expired = 0
    expire_unpaid = _expire_unpaid()
    if callable(expire_unpaid):
        with tenant_session(tid) as session:
            orders_expired = int(expire_unpaid(session=session, now=now) or 0)
    with tenant_session(tid) as session:
        holds_expired = expire_holds(session=session, now=now)
    return {"orders": orders_expired, "holds": holds_expired}


@app.task(name="booking.expire_due")
def expire_due() -> int:
    """Beat entry point (every minute): one expiry sweep per active tenant."""
    return fan_out(expire_tenant, statuses=ACTIVE, expires=EXPIRE_EXPIRES_S)
