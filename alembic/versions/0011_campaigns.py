"""campaigns, variants, runs and recipients (with RLS)

Revision ID: 0011_campaigns
Revises: 0010_audiences
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

revision: str = '0011_campaigns'
down_revision: str | None = '0010_audiences'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
