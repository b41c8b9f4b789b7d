"""The particulars and the status of an entity ordered apart: the bureau event each comes from, so a closure
older than a change of particulars still closes the entity (and a change older than a closure still restates
its particulars). NULL in both for the records before this revision (and the import's new ones): they count
from ``last_changed_at`` until their next event writes both out.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0006", "0005", None, None


def upgrade() -> None:
    op.add_column("entities", sa.Column("stated_at", sa.DateTime(timezone=True)))
    op.add_column("entities", sa.Column("status_changed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("entities", "status_changed_at")
    op.drop_column("entities", "stated_at")
