"""Housekeeping tasks: the hourly beat task fans out one sweep per tenant."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from prm_saas.celery_app import TenantTask, app, fan_out
from prm_saas.housekeeping.services import sweep_platform_auth, sweep_tenant_auth
from tenants.context import current_tenant_id
from tenants.db import platform_session, tenant_session

log = logging.getLogger(__name__)


@app.task(name="housekeeping.sweep_tenant", base=TenantTask)
def sweep_tenant() -> dict[str, Any]:
    """Delete the current tenant's ended sessions, spent reset codes and SSO states."""
    with tenant_session() as session:
        swept = sweep_tenant_auth(session=session)
    log.info("housekeeping: tenant %s swept %s", current_tenant_id(), swept)
    return asdict(swept)


@app.task(name="housekeeping.sweep")
def sweep() -> dict[str, Any]:
    """Beat entry point (hourly): one sweep_tenant per tenant, then the platform rows.

    Suspended tenants are swept too: their users still sign in and out.
    """
    tenants = fan_out(sweep_tenant)
    with platform_session() as session:
        swept = sweep_platform_auth(session=session)
    log.info("housekeeping: %d tenant sweeps sent; platform swept %s", tenants, swept)
    return {"tenants": tenants, **asdict(swept)}
