"""audiences and custom message content (with RLS)

Revision ID: 0010_audiences
Revises: 0009_tags
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

revision: str = '0010_audiences'
down_revision: str | None = '0009_tags'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
