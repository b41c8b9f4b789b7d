"""Targets: the working days their publication deadline is counted with (``due_workdays``), so that a published
holiday schedule counts the deadline again with them, not with the setting of that day.

Deadlines fixed before this revision have none (NULL): they are counted again with the service's own
``publish_within_workdays``, as before (the migration is run without the service's settings, and the release before
fixes deadlines without the column while it rolls out).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0010", "0009", None, None


def upgrade() -> None:
    op.add_column("targets", sa.Column("due_workdays", sa.Integer()))


def downgrade() -> None:
    op.drop_column("targets", "due_workdays")
