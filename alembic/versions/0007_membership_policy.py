"""membership policy: issue a card at self-registration (auto_issue_card, default on)

Revision ID: 0007_membership_policy
Revises: 0006_rewards_coupons
Create Date: 2026-12-01 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007_membership_policy'
down_revision: str | None = '0006_rewards_coupons'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On by default (the issue: a card is issued at self-registration); a tenant
    # that hands cards out at the desk only switches it off in its policy.
    with op.batch_alter_table('membership_settings', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('auto_issue_card', sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table('membership_settings', schema=None) as batch_op:
        batch_op.drop_column('auto_issue_card')
