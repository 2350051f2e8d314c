"""Package views: the first step of the dashboards' funnel (views → orders →
paid → completed). One row each time a package's page is opened; a signed-in
patient's view carries the patient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prm_saas.accounts.authz import Principal
from prm_saas.accounts.models import PrincipalKind
from prm_saas.dashboards.models import PackageView
from prm_saas.mall.pricing import get_published
from tenants.db import TenantSession
from tenants.types import utcnow


def record_view(
    *,
    session: TenantSession,
    package_id: Any,
    actor: Principal | None = None,
    now: datetime | None = None,
) -> None:
    """Count a view of a published package of the session's tenant (NotFound for
    any other, as the page itself). Anyone may view: the patient is recorded only
    when the actor is a patient of this tenant."""
    package = get_published(session, package_id)
    patient_id = (
        actor.id
        if actor is not None
        and actor.kind == PrincipalKind.PATIENT
        and actor.tenant_id == session.tenant_id
        else None
    )
    session.add(
        PackageView(package_id=package.id or 0, patient_id=patient_id, viewed_at=now or utcnow())
    )
    session.flush()
