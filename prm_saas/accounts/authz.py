"""Principals and permissions. Every service checks its actor here.

Reflex event handlers are a public API: any client can call any handler with
any arguments. So the services, not the pages, decide: the actor must belong
to the session's tenant (else NotFound, exactly like a missing record) and
hold the permission (else PermissionDenied).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from prm_saas.accounts.models import PrincipalKind, StaffRole
from tenants.db import TenantSession
from tenants.errors import NotFound, PermissionDenied


class Permission(enum.StrEnum):
    """What a staff role may do. Later capabilities add their own."""

    STAFF_MANAGE = "staff.manage"
    SETTINGS_MANAGE = "settings.manage"
    AUDIT_READ = "audit.read"
    PATIENT_READ = "patient.read"
    PATIENT_WRITE = "patient.write"
    CATALOG_MANAGE = "catalog.manage"  # packages, items, prices, publishing
    SCHEDULE_MANAGE = "schedule.manage"  # locations, hours, closures, resources, policy
    FRONT_DESK = "front_desk"  # day calendar, check-in, walk-ins, no-shows, overrides
    ORDERS_MANAGE = "orders.manage"  # refunds, marking clinic payments
    MEMBERS_MANAGE = "members.manage"  # points adjustments, levels, earn rules, cards
    CHALLENGES_MANAGE = "challenges.manage"  # health challenges: define, publish, close
    TAGS_MANAGE = "tags.manage"  # tags and tag rules (staff with FRONT_DESK tag patients)
    CAMPAIGNS_MANAGE = "campaigns.manage"  # audiences, campaigns, automations
    DASHBOARD_VIEW = "dashboard.view"  # operational KPIs: bookings, rates, utilisation, patients
    DASHBOARD_FULL = "dashboard.full"  # also money, funnel, points, campaigns, cohorts
    BILLING_MANAGE = "billing.manage"  # the tenant's plan, card and invoices (platform billing)


# Roles are data: adding a role (doctor, nurse, 健康管理师, 客服) is one entry here.
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    StaffRole.TENANT_ADMIN: frozenset(Permission),
    StaffRole.STAFF: frozenset(
        {
            Permission.PATIENT_READ,
            Permission.PATIENT_WRITE,
            Permission.FRONT_DESK,
            Permission.DASHBOARD_VIEW,
        }
    ),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated actor of a request, event or task."""

    kind: PrincipalKind
    id: int
    tenant_id: int | None
    name: str
    label: str = ""  # email or phone, for the audit log
    role: str | None = None
    locale: str | None = None

    def can(self, permission: Permission) -> bool:
        """Whether this principal's role grants ``permission``."""
        return self.kind == PrincipalKind.STAFF and permission in ROLE_PERMISSIONS.get(
            self.role or "", frozenset()
        )


def _same_tenant(session: TenantSession, actor: Principal | None) -> Principal:
    if actor is None or actor.tenant_id is None or actor.tenant_id != session.tenant_id:
        raise NotFound()
    return actor


def require_staff(
    session: TenantSession, actor: Principal | None, permission: Permission | None = None
) -> Principal:
    """The actor as staff of this session's tenant, holding ``permission``."""
    actor = _same_tenant(session, actor)
    if actor.kind != PrincipalKind.STAFF:
        raise PermissionDenied()
    if permission is not None and not actor.can(permission):
        raise PermissionDenied()
    return actor


def require_patient(session: TenantSession, actor: Principal | None) -> Principal:
    """The actor as a patient of this session's tenant."""
    actor = _same_tenant(session, actor)
    if actor.kind != PrincipalKind.PATIENT:
        raise PermissionDenied()
    return actor


def require_operator(actor: Principal | None) -> Principal:
    """The actor as a platform operator."""
    if actor is None or actor.kind != PrincipalKind.OPERATOR:
        raise PermissionDenied()
    return actor
