"""Tables of the dashboards: package views (the funnel's first step) and the
daily roll-up of finished days."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class PackageView(TenantScoped, table=True):
    """A package's detail page was opened (by a signed-in patient or anyone)."""

    __tablename__ = "package_view"
    __table_args__ = (sa.Index("ix_package_view_tenant_at", "tenant_id", "viewed_at"),)
    append_only: ClassVar[bool] = True
    # Analytics of a page a suspended clinic's patients can still open.
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="health_package.id")
    patient_id: int | None = Field(default=None, foreign_key="patient.id")
    viewed_at: datetime = ts_field()


class KpiDaily(TenantScoped, table=True):
    """One metric of one finished local day at one location (0: not by location)."""

    __tablename__ = "kpi_daily"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "day", "location_id", "metric", name="uq_kpi_daily"),
    )
    # Derived numbers: a read-only (suspended) tenant's dashboard still rolls up.
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    day: date
    location_id: int = 0
    metric: str = Field(max_length=40)
    value: int = Field(default=0, sa_type=sa.BigInteger)


class KpiCohort(TenantScoped, table=True):
    """Patients whose first visit fell in ``cohort_month`` who visited in ``activity_month``."""

    __tablename__ = "kpi_cohort"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "cohort_month", "activity_month", name="uq_kpi_cohort"),
    )
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    cohort_month: date
    activity_month: date
    patients: int = 0


class KpiCampaign(TenantScoped, table=True):
    """A campaign's whole-run numbers as of the last roll-up (attribution reads
    every reached patient's bookings and orders: too slow for each page load)."""

    __tablename__ = "kpi_campaign"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "campaign_id", name="uq_kpi_campaign"),)
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    sent: int = 0
    converted: int = 0  # patients with an attributed booking or paid order
    revenue_fen: int = 0
    computed_at: datetime = ts_field()


class KpiRollupState(TenantScoped, table=True):
    """How far a tenant's roll-up reaches and when it last ran."""

    __tablename__ = "kpi_rollup_state"
    __table_args__ = (sa.UniqueConstraint("tenant_id", name="uq_kpi_rollup_state"),)
    writable_when_suspended: ClassVar[bool] = True

    id: int | None = Field(default=None, primary_key=True)
    rolled_through: date | None = None  # last finished local day written
    rolled_at: datetime = ts_field()
