"""Test data builders. They write rows directly through the one session factory."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from prm_saas.accounts.auth import operator_principal, patient_principal, staff_principal
from prm_saas.accounts.authz import Principal
from prm_saas.accounts.credentials import hash_password
from prm_saas.accounts.models import (
    AccountStatus,
    Operator,
    Patient,
    Sex,
    StaffMember,
    StaffRole,
)
from tenants.db import platform_session, tenant_session
from tenants.models import Tenant, TenantKind, TenantStatus
from tenants.resolution import TenantInfo, invalidate_tenant_cache

PASSWORD = "Secret123abc"
_seq = itertools.count(1)


def make_tenant(
    slug: str | None = None,
    *,
    name: str | None = None,
    kind: TenantKind = TenantKind.CLINIC,
    status: TenantStatus = TenantStatus.ACTIVE,
    timezone: str = "Asia/Shanghai",
    default_locale: str = "zh-CN",
) -> TenantInfo:
    """A tenant row."""
    n = next(_seq)
    with platform_session() as s:
        t = Tenant(
            slug=slug or f"tenant-{n}",
            name=name or f"测试诊所{n}",
            kind=kind,
            status=status,
            timezone=timezone,
            default_locale=default_locale,
        )  # type: ignore[arg-type]
        s.add(t)
        s.flush()
        info = TenantInfo.of(t)
    invalidate_tenant_cache()
    return info


def change_status(tenant: TenantInfo, status: TenantStatus) -> TenantInfo:
    """Move a tenant to ``status`` (e.g. suspend it after its people were created)."""
    with platform_session() as s:
        t = s.get(Tenant, tenant.id)
        assert t is not None
        t.status = status
        s.add(t)
        s.flush()
        info = TenantInfo.of(t)
    invalidate_tenant_cache()
    return info


def make_staff(
    tenant: TenantInfo,
    *,
    role: StaffRole = StaffRole.STAFF,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    status: AccountStatus = AccountStatus.ACTIVE,
) -> Principal:
    """An active staff member of ``tenant``."""
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        m = StaffMember(
            email=email or f"staff{n}@{tenant.slug}.test",
            name=name or f"员工{n}",
            role=role,
            status=status,
            password_hash=hash_password(password),
        )
        s.add(m)
        s.flush()
        return staff_principal(m)


def make_admin(tenant: TenantInfo, **kw: object) -> Principal:
    """A tenant admin of ``tenant``."""
    return make_staff(tenant, role=StaffRole.TENANT_ADMIN, **kw)  # type: ignore[arg-type]


def make_patient(
    tenant: TenantInfo,
    *,
    phone: str | None = None,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
) -> Principal:
    """A patient of ``tenant`` with a phone number."""
    n = next(_seq)
    with tenant_session(tenant.id) as s:
        p = Patient(
            name=name or f"患者{n}",
            phone=phone or f"+86139{n:08d}",
            email=email,
            sex=Sex.UNKNOWN,
            password_hash=hash_password(password),
        )
        s.add(p)
        s.flush()
        return patient_principal(p)


def make_operator(*, email: str | None = None, password: str = PASSWORD) -> Principal:
    """A platform operator."""
    n = next(_seq)
    with platform_session() as s:
        o = Operator(
            email=email or f"op{n}@platform.test",
            name=f"运营{n}",
            password_hash=hash_password(password),
        )
        s.add(o)
        s.flush()
        return operator_principal(o)


@dataclass(frozen=True)
class World:
    """Two tenants, each with an admin, a staff member and a patient; one operator."""

    a: TenantInfo
    b: TenantInfo
    admin_a: Principal
    admin_b: Principal
    staff_a: Principal
    staff_b: Principal
    patient_a: Principal
    patient_b: Principal
    operator: Principal


def make_world() -> World:
    """The standard two-tenant fixture set."""
    a = make_tenant("clinic-a", name="阳光社区诊所")
    b = make_tenant("center-b", name="康健体检中心", kind=TenantKind.CHECKUP_CENTER)
    return World(
        a=a,
        b=b,
        admin_a=make_admin(a, email="admin@a.test"),
        admin_b=make_admin(b, email="admin@b.test"),
        staff_a=make_staff(a, email="staff@a.test"),
        staff_b=make_staff(b, email="staff@b.test"),
        patient_a=make_patient(a, phone="+8613800000001", email="p@a.test"),
        patient_b=make_patient(b, phone="+8613800000001", email="p@b.test"),
        operator=make_operator(email="ops@platform.test"),
    )
