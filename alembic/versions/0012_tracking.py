"""tracked links and tracking events (with RLS)

Revision ID: 0012_tracking
Revises: 0011_campaigns
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

revision: str = '0012_tracking'
down_revision: str | None = '0011_campaigns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
