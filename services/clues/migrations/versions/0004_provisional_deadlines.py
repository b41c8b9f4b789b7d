"""Clues: the handling deadline's start and working days kept, so it can be recomputed, and whether it is
provisional (counted through a year whose holiday schedule is not published yet). Open clues due after the
last day the shipped holiday data knows are marked provisional, counted from their receipt.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from jsp_common import clock
from jsp_common.workdays import WorkCalendar, deadline_end_of

revision, down_revision, branch_labels, depends_on = "0004", "0003", None, None

OPEN = "('dispatched','returned','accepted','verifying','handled')"


def upgrade() -> None:
    op.add_column("clues", sa.Column("deadline_from", sa.DateTime(timezone=True)))
    op.add_column("clues", sa.Column("deadline_workdays", sa.Integer()))
    op.add_column("clues", sa.Column("deadline_provisional", sa.Boolean(), nullable=False,
                                     server_default=sa.text("false")))
    op.create_index("clues_provisional", "clues", ["received_at", "id"],
                    postgresql_where=sa.text("deadline_provisional"))
    calendar = WorkCalendar()
    known = deadline_end_of(calendar.known_until(clock.today()))
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT id, received_at, deadline FROM clues WHERE deadline > :known "
                                f"AND state IN {OPEN}"), {"known": known}).all()
    for clue_id, received_at, deadline in rows:
        conn.execute(sa.text("UPDATE clues SET deadline_from = :start, deadline_workdays = :n, "
                             "deadline_provisional = true WHERE id = :id"),
                     {"id": clue_id, "start": received_at, "n": calendar.workdays_between(received_at, deadline)})


def downgrade() -> None:
    op.drop_index("clues_provisional", table_name="clues")
    op.drop_column("clues", "deadline_provisional")
    op.drop_column("clues", "deadline_workdays")
    op.drop_column("clues", "deadline_from")
