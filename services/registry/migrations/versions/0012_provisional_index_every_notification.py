"""The index of provisional acknowledge-by times covers acknowledged notifications too: a holiday schedule published
makes every provisional time final, an acknowledged or superseded notification's as well (quietly).

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0012", "0011", None, None


def upgrade() -> None:
    op.drop_index("notifications_provisional", table_name="notifications")
    op.create_index("notifications_provisional", "notifications", ["issued_at"],
                    postgresql_where=sa.text("acknowledge_by_provisional"))


def downgrade() -> None:
    op.drop_index("notifications_provisional", table_name="notifications")
    op.create_index("notifications_provisional", "notifications", ["issued_at"],
                    postgresql_where=sa.text("acknowledge_by_provisional AND acknowledged_at IS NULL"))
