"""Targets: whether the publication deadline was counted through a year whose holiday schedule is not
published yet (recomputed once it is). Unpublished targets due after the last day the shipped holiday data
knows are marked provisional.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from jsp_common import clock
from jsp_common.workdays import WorkCalendar

revision, down_revision, branch_labels, depends_on = "0003", "0002", None, None


def upgrade() -> None:
    op.add_column("targets", sa.Column("due_provisional", sa.Boolean(), nullable=False,
                                       server_default=sa.text("false")))
    known = WorkCalendar().known_until(clock.today())
    op.execute(sa.text("UPDATE targets SET due_provisional = true WHERE published_at IS NULL AND due_on > :known")
               .bindparams(known=known))
    op.create_index("targets_due_provisional", "targets", ["inspected_on"],
                    postgresql_where=sa.text("due_provisional AND published_at IS NULL"))


def downgrade() -> None:
    op.drop_index("targets_due_provisional", table_name="targets")
    op.drop_column("targets", "due_provisional")
