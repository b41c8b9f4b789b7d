"""Initial schema: directory, history, notifications, adjudication, decisions, rule sets; messaging tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
import sqlalchemy as sa
from alembic import op

from jsp_common.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from registry.adapters.tables import metadata

    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    create_messaging_tables(op)
    metadata.create_all(op.get_bind(), checkfirst=True)
    # The metadata is today's shape; later revisions' changes are undone here so they apply cleanly.
    op.drop_index("notifications_reminder_due", table_name="notifications")
    op.drop_column("notifications", "next_reminder_at")
    op.create_index("notifications_unacknowledged", "notifications", ["acknowledge_by"],
                    postgresql_where=sa.text("acknowledged_at IS NULL"))


def downgrade() -> None:
    from registry.adapters.tables import metadata

    metadata.drop_all(op.get_bind(), checkfirst=True)
    drop_messaging_tables(op)
