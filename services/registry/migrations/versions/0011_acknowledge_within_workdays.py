"""Notifications keep the working days their acknowledge-by time was counted with
(``acknowledge_within_workdays``), so a holiday schedule published later counts it again with them, not with
the ``ack_workdays`` setting of that day. The notifications before this revision have none (NULL): they are
counted again with the service's own setting, as before (the migration is run without the service's settings, and
the release before inserts notifications without the column while it rolls out).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0011", "0010", None, None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("acknowledge_within_workdays", sa.Integer()))


def downgrade() -> None:
    op.drop_column("notifications", "acknowledge_within_workdays")
