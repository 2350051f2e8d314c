"""Tasks for the Celery tests. The test worker imports this module (-I tests.celery_probe).

``tests.probe_tenant`` writes what it saw into the current tenant's audit log;
every task failure in the worker is written to the platform audit log, so the
tests can see failures without a result backend.
"""

from __future__ import annotations

from typing import Any

from celery.signals import task_failure
from sqlmodel import col, select

from prm_saas.accounts.models import Patient
from prm_saas.audit.services import record, record_platform
from prm_saas.celery_app import TenantTask, app
from tenants.context import current_tenant_id
from tenants.db import platform_session, tenant_session

PROBE_ACTION = "test.celery_probe"
FAILURE_ACTION = "test.celery_failure"


def _record_probe(tag: str) -> None:
    with tenant_session() as s:
        seen = sorted(set(s.exec(select(Patient.tenant_id).order_by(col(Patient.id))).all()))
        record(
            s,
            actor=None,
            action=PROBE_ACTION,
            details={
                "tag": tag,
                "context_tenant": current_tenant_id(),
                "session_tenant": s.tenant_id,
                "patient_tenants": seen,
            },
        )


@app.task(name="tests.probe_tenant", base=TenantTask)
def probe_tenant(tag: str) -> None:
    """Record the current tenant, the session's tenant and whose patients are visible."""
    _record_probe(tag)


@app.task(name="tests.probe_retry", base=TenantTask, bind=True, max_retries=1)
def probe_retry(self: Any, tag: str) -> None:
    """Retry once, then record like probe_tenant: the retry must keep the tenant."""
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    _record_probe(f"{tag}-retry-{self.request.retries}")


@task_failure.connect
def _record_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    **_kwargs: Any,
) -> None:
    with platform_session() as s:
        record_platform(
            s,
            actor=None,
            action=FAILURE_ACTION,
            target_type=getattr(sender, "name", ""),
            target_id=task_id,
            details={"error": type(exception).__name__, "message": str(exception)},
        )
