"""Shared helpers of the membership tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from prm_saas.accounts.models import Patient, Sex
from prm_saas.membership import points
from prm_saas.membership.models import MembershipSettings, NegativePolicy
from prm_saas.membership.points import AccountCheck, Source
from tenants.db import tenant_session
from tenants.resolution import TenantInfo

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def new_patient(tenant: TenantInfo, n: int = 0) -> int:
    """Another patient of ``tenant``."""
    with tenant_session(tenant.id) as s:
        p = Patient(name=f"会员{n}", phone=f"+86139{n:08d}", sex=Sex.UNKNOWN)
        s.add(p)
        s.flush()
        return int(p.id or 0)


def set_policy(tenant: TenantInfo, policy: NegativePolicy, **kw: int) -> None:
    """Store the tenant's membership settings."""
    with tenant_session(tenant.id) as s:
        row = s.exec(select(MembershipSettings)).first() or MembershipSettings()
        row.negative_policy = policy
        for k, v in kw.items():
            setattr(row, k, v)
        s.add(row)


def earn(
    tenant: TenantInfo,
    pid: int,
    n: int,
    key: str,
    *,
    now: datetime = NOW,
    lock_days: int = 0,
    source: Source | None = None,
) -> None:
    """Credit ``n`` points in one transaction."""
    with tenant_session(tenant.id) as s:
        points.earn(
            s,
            patient_id=pid,
            points=n,
            reason="test",
            source=source or Source("test", key),
            idempotency_key=key,
            now=now,
            lock_days=lock_days,
        )


def check(tenant: TenantInfo, pid: int) -> AccountCheck:
    """The patient's balance beside the ledger and the lots."""
    with tenant_session(tenant.id) as s:
        return points.check_account(s, patient_id=pid)
