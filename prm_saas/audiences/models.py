"""Saved audiences (目标人群): a tag expression plus attribute filters."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from tenants.models import TenantScoped, ts_field


class Audience(TenantScoped, table=True):
    """Who a campaign reaches, re-evaluated whenever it is counted or snapshotted.

    ``expression`` is over tag names (``prm_saas.audiences.expr``); ``filters`` is
    a JSON list of tag-rule conditions (``{"key", "params"}``, the registry of
    ``prm_saas.tags.conditions``) that must all hold as well. Either may be empty,
    not both.
    """

    __tablename__ = "audience"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_audience_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=200)
    expression: str = Field(default="", max_length=1000)
    filters: str = Field(default="[]", max_length=4000)  # JSON
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
