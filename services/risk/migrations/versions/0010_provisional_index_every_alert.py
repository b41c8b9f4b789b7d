"""The index of provisional response deadlines covers answered and closed alerts too: a holiday schedule published
makes every provisional deadline final, an answered or closed alert's as well (quietly).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0010", "0009", None, None


def upgrade() -> None:
    op.drop_index("alerts_respond_by_provisional", table_name="alerts")
    op.create_index("alerts_respond_by_provisional", "alerts", ["raised_at", "id"],
                    postgresql_where=sa.text("respond_by_provisional"))


def downgrade() -> None:
    op.drop_index("alerts_respond_by_provisional", table_name="alerts")
    op.create_index("alerts_respond_by_provisional", "alerts", ["raised_at", "id"],
                    postgresql_where=sa.text("respond_by_provisional AND state IN ('open', 'acknowledged')"))
