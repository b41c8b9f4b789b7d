"""Notifications: when the next reminder is due (so the overdue scan never stalls on reminded rows).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("next_reminder_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE notifications SET next_reminder_at = acknowledge_by WHERE acknowledged_at IS NULL")
    op.drop_index("notifications_unacknowledged", table_name="notifications")
    op.create_index("notifications_reminder_due", "notifications", ["next_reminder_at"],
                    postgresql_where=sa.text("acknowledged_at IS NULL"))


def downgrade() -> None:
    op.drop_index("notifications_reminder_due", table_name="notifications")
    op.create_index("notifications_unacknowledged", "notifications", ["acknowledge_by"],
                    postgresql_where=sa.text("acknowledged_at IS NULL"))
    op.drop_column("notifications", "next_reminder_at")
