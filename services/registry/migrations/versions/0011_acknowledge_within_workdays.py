"""Notifications keep the working days their acknowledge-by time was counted with
(``acknowledge_within_workdays``), so a holiday schedule published later counts it again with them, not with
the ``ack_workdays`` setting of that day. The notifications before this revision take the setting in force when
it runs (the one they were issued with, unless it was changed before the upgrade).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

from registry.settings import Settings

revision, down_revision, branch_labels, depends_on = "0011", "0010", None, None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("acknowledge_within_workdays", sa.Integer()))
    op.execute(sa.text("UPDATE notifications SET acknowledge_within_workdays = :n")
               .bindparams(n=Settings().ack_workdays))
    op.alter_column("notifications", "acknowledge_within_workdays", nullable=False)


def downgrade() -> None:
    op.drop_column("notifications", "acknowledge_within_workdays")
