"""Plan limits: what a tenant uses against what its plan allows, enforced where
they bite (staff invitations, new locations, patient registration, sending).

Usage lives in the tenant's tables (staff, locations, patients, messages), the
plan and the billing period in platform tables (``tenant_subscription``,
``plan``, ``tenant_billing``) that row-level security hides from a tenant's
transaction. So each half is read where it can be read: a function given a
tenant session counts in it and reads the plan in a short platform session; a
function given a platform session (the billing cycle, the console) reads the
plan in it and counts in a short session of the tenant. Neither writes.

A tenant without an open subscription (or whose plan sets no number) is
unlimited: tenants that existed before plans had limits keep working.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select

from prm_saas.accounts.models import AccountStatus, Patient, StaffMember
from prm_saas.billing.models import TenantBilling
from prm_saas.booking.models import Location
from prm_saas.messaging.models import Message, MessageStatus
from prm_saas.platform.models import Plan, TenantSubscription
from tenants.db import TenantSession, platform_session, tenant_session
from tenants.errors import DomainError, NoTenantContext
from tenants.models import Tenant
from tenants.types import utcnow

UPGRADE_URL = "/admin/billing"


class Resource(enum.StrEnum):
    """What a plan limits."""

    STAFF = "staff"  # seats: active + invited accounts
    LOCATIONS = "locations"  # active locations
    PATIENTS = "patients"  # patients not disabled
    MESSAGES = "messages"  # messages sent in the current billing period (the hard cap)


class PlanLimitReached(DomainError):
    """The tenant's plan has no room for one more of ``limit``.

    The message names the limit, the number and the plan, and tells an admin to
    upgrade at /admin/billing; a patient who cannot register is told something
    fit for a patient instead (``for_patient``), without upgrade talk.
    """

    key = "limits.staff_reached"

    def __init__(
        self,
        *,
        limit: Resource,
        plan: Plan,
        maximum: int,
        used: int,
        for_patient: bool = False,
        locale: str = "zh-CN",
    ) -> None:
        self.limit = limit
        self.plan_code = plan.code
        self.maximum = maximum
        self.used = used
        self.upgrade_url = "" if for_patient else UPGRADE_URL
        key = "limits.patients_full" if for_patient else f"limits.{limit}_reached"
        super().__init__(
            key,
            limit=str(limit),
            # The plan's name in the clinic's language (the message's parameters
            # are the same in both languages).
            plan=plan.name_en if locale == "en" else plan.name_zh,
            plan_code=plan.code,
            max=maximum,
            used=used,
            url=self.upgrade_url,
        )


@dataclass(frozen=True)
class PlanLimits:
    """The numbers of a plan (None = unlimited)."""

    plan_id: int
    code: str
    name_zh: str
    name_en: str
    max_staff: int | None
    max_locations: int | None
    max_active_patients: int | None
    messages_included: int
    message_overage_fen: int
    messages_cap: int | None

    @classmethod
    def of(cls, p: Plan) -> PlanLimits:
        """The limits of a plan row."""
        assert p.id is not None
        return cls(
            plan_id=p.id,
            code=p.code,
            name_zh=p.name_zh,
            name_en=p.name_en,
            max_staff=p.max_staff,
            max_locations=p.max_locations,
            max_active_patients=p.max_active_patients,
            messages_included=p.messages_included,
            message_overage_fen=p.message_overage_fen,
            messages_cap=p.messages_cap,
        )

    def maximum(self, resource: Resource) -> int | None:
        """The limit on ``resource`` (None = unlimited)."""
        return {
            Resource.STAFF: self.max_staff,
            Resource.LOCATIONS: self.max_locations,
            Resource.PATIENTS: self.max_active_patients,
            Resource.MESSAGES: self.messages_cap,
        }[resource]


@dataclass(frozen=True)
class Usage:
    """What a tenant uses now, and its plan's limits (None: no plan, unlimited)."""

    tenant_id: int
    staff: int
    locations: int
    active_patients: int
    messages: int  # sent in the current billing period
    period_start: datetime | None
    period_end: datetime | None
    limits: PlanLimits | None

    def used(self, resource: Resource) -> int:
        """The count of ``resource``."""
        return {
            Resource.STAFF: self.staff,
            Resource.LOCATIONS: self.locations,
            Resource.PATIENTS: self.active_patients,
            Resource.MESSAGES: self.messages,
        }[resource]


@dataclass(frozen=True)
class Overage:
    """A resource used beyond what a plan allows (a downgrade's obstacle)."""

    resource: Resource
    used: int
    limit: int


@dataclass(frozen=True)
class _Terms:
    """A tenant's plan and billing period, read at the platform level."""

    plan: Plan | None
    period_start: datetime | None
    period_end: datetime | None


def _read_terms(ps: TenantSession, tenant_id: int) -> _Terms:
    plan = ps.exec(
        select(Plan)
        .join(TenantSubscription, col(TenantSubscription.plan_id) == col(Plan.id))
        .where(
            TenantSubscription.subject_tenant_id == tenant_id,
            col(TenantSubscription.ended_at).is_(None),
        )
    ).first()
    billing = ps.exec(
        select(TenantBilling).where(TenantBilling.subject_tenant_id == tenant_id)
    ).first()
    if plan is not None:
        ps.expunge(plan)  # read after the platform session closes
    if billing is None:
        return _Terms(plan, None, None)
    return _Terms(plan, billing.current_period_start, billing.current_period_end)


def _period_at(terms: _Terms, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The billing period ``now`` falls in. A period whose end has passed but that
    the billing cycle has not advanced yet (the beat runs every few minutes) is
    followed by the next one from its end: what is sent now is billed there."""
    start, end = terms.period_start, terms.period_end
    if start is None or end is None:
        return None, None
    if now >= end:
        return end, end + (end - start)
    return start, end


def _terms(session: TenantSession, tenant_id: int) -> _Terms:
    if session.tenant_id is None:
        return _read_terms(session, tenant_id)
    with platform_session() as ps:
        return _read_terms(ps, tenant_id)


@contextmanager
def _tenant_reader(session: TenantSession, tenant_id: int) -> Iterator[TenantSession]:
    """A session that sees ``tenant_id``'s tables: ``session`` itself when it is
    that tenant's, a short session of the tenant when it is a platform session."""
    if session.tenant_id == tenant_id:
        yield session
    elif session.tenant_id is None:
        with tenant_session(tenant_id) as ts:
            yield ts
    else:
        raise NoTenantContext(f"tenant {session.tenant_id}'s session asked for {tenant_id}")


def _count(
    s: TenantSession, resource: Resource, start: datetime | None, end: datetime | None
) -> int:
    if resource == Resource.STAFF:
        q = select(func.count()).select_from(StaffMember)
        q = q.where(col(StaffMember.status).in_([AccountStatus.ACTIVE, AccountStatus.INVITED]))
    elif resource == Resource.LOCATIONS:
        q = select(func.count()).select_from(Location).where(col(Location.active).is_(True))
    elif resource == Resource.PATIENTS:
        q = select(func.count()).select_from(Patient)
        q = q.where(col(Patient.status) != AccountStatus.DISABLED)
    else:
        if start is None or end is None:
            return 0
        return _messages(s, start, end)
    return int(s.exec(q).one())


def _messages(s: TenantSession, start: datetime, end: datetime) -> int:
    return int(
        s.exec(
            select(func.count())
            .select_from(Message)
            .where(
                col(Message.status) == MessageStatus.SENT,
                col(Message.sent_at) >= start,
                col(Message.sent_at) < end,
            )
        ).one()
    )


def messages_in_period(
    session: TenantSession, *, tenant_id: int, start: datetime, end: datetime
) -> int:
    """Messages of ``tenant_id`` actually sent (status sent) in [start, end)."""
    with _tenant_reader(session, tenant_id) as s:
        return _messages(s, start, end)


def usage(session: TenantSession, *, tenant_id: int, now: datetime | None = None) -> Usage:
    """The tenant's staff seats, active locations, active patients and messages sent
    in its current billing period, with its plan's limits."""
    terms = _terms(session, tenant_id)
    start, end = _period_at(terms, now or utcnow())
    with _tenant_reader(session, tenant_id) as s:
        counts = {r: _count(s, r, start, end) for r in Resource}
    return Usage(
        tenant_id=tenant_id,
        staff=counts[Resource.STAFF],
        locations=counts[Resource.LOCATIONS],
        active_patients=counts[Resource.PATIENTS],
        messages=counts[Resource.MESSAGES],
        period_start=terms.period_start,
        period_end=terms.period_end,
        limits=None if terms.plan is None else PlanLimits.of(terms.plan),
    )


def check_fits(session: TenantSession, *, tenant_id: int, plan: Plan) -> list[Overage]:
    """What the tenant uses beyond ``plan``'s limits (empty: it fits). For a
    downgrade; the message cap is not checked (a new period starts below it)."""
    current = usage(session, tenant_id=tenant_id)
    limits = PlanLimits.of(plan)
    out: list[Overage] = []
    for resource in (Resource.STAFF, Resource.LOCATIONS, Resource.PATIENTS):
        maximum = limits.maximum(resource)
        used = current.used(resource)
        if maximum is not None and used > maximum:
            out.append(Overage(resource=resource, used=used, limit=maximum))
    return out


def require_room(
    session: TenantSession, resource: Resource | str, *, for_patient: bool = False
) -> None:
    """Raise ``PlanLimitReached`` when the session's tenant cannot have one more
    ``resource`` under its plan (staff seat, location, patient, message).

    Called in the use case's transaction before the row is written. Two writes
    racing past the check can overshoot by one; the limits are commercial, not
    a safety property, and the next one is refused.
    """
    tenant_id = session.tenant_id
    if tenant_id is None:
        raise NoTenantContext("require_room checks a tenant: open a tenant session")
    res = Resource(resource)
    terms = _terms(session, tenant_id)
    if terms.plan is None:
        return
    maximum = PlanLimits.of(terms.plan).maximum(res)
    if maximum is None:
        return
    if res == Resource.MESSAGES and (terms.period_start is None or terms.period_end is None):
        return
    start, end = _period_at(terms, utcnow())
    used = _count(session, res, start, end)
    if used >= maximum:
        tenant = session.get(Tenant, tenant_id)
        raise PlanLimitReached(
            limit=res,
            plan=terms.plan,
            maximum=maximum,
            used=used,
            for_patient=for_patient,
            locale=str(tenant.default_locale) if tenant is not None else "zh-CN",
        )


@dataclass(frozen=True)
class MessageCap:
    """The hard message stop of a tenant's current billing period (for the sender)."""

    cap: int
    start: datetime
    end: datetime
    plan_code: str


def message_cap(session: TenantSession, *, now: datetime | None = None) -> MessageCap | None:
    """The session's tenant's message cap in force now, or None (no plan, no cap,
    or no billing period covering ``now``)."""
    tenant_id = session.tenant_id
    if tenant_id is None:
        return None
    terms = _terms(session, tenant_id)
    start, end = _period_at(terms, now or utcnow())
    if terms.plan is None or terms.plan.messages_cap is None or start is None or end is None:
        return None
    return MessageCap(cap=terms.plan.messages_cap, start=start, end=end, plan_code=terms.plan.code)
