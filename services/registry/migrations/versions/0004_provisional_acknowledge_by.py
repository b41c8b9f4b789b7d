"""Notifications: whether the acknowledge-by time was counted through a year whose holiday schedule is not
published yet (recomputed once it is). Unacknowledged notifications due after the last day the shipped
holiday data knows are marked provisional.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from jsp_common import clock
from jsp_common.workdays import WorkCalendar, deadline_end_of

revision, down_revision, branch_labels, depends_on = "0004", "0003", None, None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("acknowledge_by_provisional", sa.Boolean(), nullable=False,
                                             server_default=sa.false()))
    known_until = deadline_end_of(WorkCalendar().known_until(clock.today()))
    op.execute(sa.text("UPDATE notifications SET acknowledge_by_provisional = true "
                       "WHERE acknowledged_at IS NULL AND acknowledge_by > :known")
               .bindparams(known=known_until))
    op.create_index("notifications_provisional", "notifications", ["issued_at"],
                    postgresql_where=sa.text("acknowledge_by_provisional AND acknowledged_at IS NULL"))


def downgrade() -> None:
    op.drop_index("notifications_provisional", table_name="notifications")
    op.drop_column("notifications", "acknowledge_by_provisional")
