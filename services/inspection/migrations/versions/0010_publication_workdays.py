"""Targets: the working days their publication deadline is counted with (``due_workdays``), so that a published
holiday schedule counts the deadline again with them, not with the setting of that day.

Deadlines fixed before this revision are taken to have been counted with ``publish_within_workdays`` as it is set
now (the setting of the service this migration is run for): the number a recount would have used.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

from inspection.settings import Settings

revision, down_revision, branch_labels, depends_on = "0010", "0009", None, None


def upgrade() -> None:
    op.add_column("targets", sa.Column("due_workdays", sa.Integer()))
    op.execute(sa.text("UPDATE targets SET due_workdays = :n WHERE due_on IS NOT NULL")
               .bindparams(n=Settings().publish_within_workdays))


def downgrade() -> None:
    op.drop_column("targets", "due_workdays")
