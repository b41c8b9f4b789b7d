"""The index of provisional publication deadlines covers published targets too: a holiday schedule published makes
every provisional deadline final, a published target's as well (quietly).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0011", "0010", None, None


def upgrade() -> None:
    op.drop_index("targets_due_provisional", table_name="targets")
    op.create_index("targets_due_provisional", "targets", ["inspected_on"], postgresql_where=sa.text("due_provisional"))


def downgrade() -> None:
    op.drop_index("targets_due_provisional", table_name="targets")
    op.create_index("targets_due_provisional", "targets", ["inspected_on"],
                    postgresql_where=sa.text("due_provisional AND published_at IS NULL"))
