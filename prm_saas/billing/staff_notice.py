"""What every staff member's banner says about the tenant's bills (issue 8, part C).

The contract's ``services.billing_overview`` is for billing admins only; the
past-due banner is for all staff (until when the tenant keeps working) and the
read-only banner says whether the suspension is for unpaid bills. This is the
one small read they need: the staff member is checked in the tenant's session,
then the tenant's own billing row is read in a platform session (row-level
security hides it from tenant transactions), filtered by the actor's tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from prm_saas.accounts.authz import Principal, require_staff
from prm_saas.billing import engine
from prm_saas.billing.models import Suspension
from prm_saas.settings import get_settings
from tenants.db import TenantSession, platform_session
from tenants.errors import NotFound


@dataclass(frozen=True)
class StaffBillingNotice:
    """``grace_ends_at``: when a past-due tenant is suspended unless paid (None: not
    past due); ``billing_suspension``: suspended for unpaid bills."""

    grace_ends_at: datetime | None
    billing_suspension: bool


def staff_billing_notice(*, session: TenantSession, actor: Principal) -> StaffBillingNotice:
    """The billing facts of the actor's tenant the staff banners show."""
    require_staff(session, actor)
    tid = session.tenant_id
    if tid is None:
        raise NotFound()
    with platform_session() as ps:
        tb = engine.account(ps, tid)
        if tb is None:
            return StaffBillingNotice(grace_ends_at=None, billing_suspension=False)
        since, suspension = tb.past_due_since, tb.suspension
    grace = timedelta(days=get_settings().billing_grace_days)
    return StaffBillingNotice(
        grace_ends_at=since + grace if since is not None else None,
        billing_suspension=suspension == Suspension.BILLING,
    )
