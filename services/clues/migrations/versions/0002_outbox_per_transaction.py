"""Outbox: one row per transaction instead of one per event (unsent events carried over in order).

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from jsp_common.migrations import outbox_per_event, outbox_per_transaction

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    outbox_per_transaction(op)


def downgrade() -> None:
    outbox_per_event(op)
