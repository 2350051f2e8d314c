"""message indexes for campaign reports (source prefix) and attribution (patient, sent)

Revision ID: 0014_message_report_indexes
Revises: 0013_automations
Create Date: 2026-12-01 20:45:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0014_message_report_indexes'
down_revision: str | None = '0013_automations'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(
            'ix_message_tenant_source',
            ['tenant_id', 'source'],
            unique=False,
            postgresql_ops={'source': 'varchar_pattern_ops'},
        )
        batch_op.create_index(
            'ix_message_tenant_patient_sent', ['tenant_id', 'patient_id', 'sent_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_tenant_patient_sent')
        batch_op.drop_index('ix_message_tenant_source')
