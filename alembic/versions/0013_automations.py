"""automations and enrollments (with RLS)

Revision ID: 0013_automations
Revises: 0012_tracking
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

revision: str = '0013_automations'
down_revision: str | None = '0012_tracking'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
