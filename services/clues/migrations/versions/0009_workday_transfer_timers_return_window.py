"""Working-day deadlines kept as counted, so that a published holiday schedule recomputes them: the return window
(退回) of a clue, and a case transfer's approval and police decision, which are counted in working days from here
on (they were calendar days from the moment of the request or the handover).

Each gets its start, its working days and whether it is provisional (counted through a year whose holiday schedule
is not known). Dispatched clues keep their return window, counted from their dispatch, its working days counted
with the holiday schedules the service's deadlines were counted with (``counted_schedules``) over the packaged
calendar. A transfer's running approval or police-decision timer not yet announced as run out takes as many
working days as it had calendar days, and is marked provisional with its deadline as announced: the service's
first start counts it again and announces the new one to the police and the procuratorate (``deadline_recounted``;
it can only move later). One already announced as run out stays as it was announced.

Revision ID: 0009
Revises: 0008
"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from jsp_common.holidays import YearSchedule
from jsp_common.workdays import WorkCalendar

revision, down_revision, branch_labels, depends_on = "0009", "0008", None, None

CLUE_DEADLINES = ("return_deadline",)
TRANSFER_DEADLINES = ("approval_deadline", "decision_deadline")
# status -> (the timer announced when it runs out, its deadline, the column its count starts from)
RUNNING = {"pending_approval": ("approval", "approval_deadline", "requested_at"),
           "handed_over": ("police_decision", "decision_deadline", "handed_over_at")}


def _add_counted(table: str, name: str) -> None:
    op.add_column(table, sa.Column(f"{name}_from", sa.DateTime(timezone=True)))
    op.add_column(table, sa.Column(f"{name}_workdays", sa.Integer()))
    op.add_column(table, sa.Column(f"{name}_provisional", sa.Boolean(), nullable=False,
                                   server_default=sa.text("false")))


def upgrade() -> None:
    for name in CLUE_DEADLINES:
        _add_counted("clues", name)
    for name in TRANSFER_DEADLINES:
        _add_counted("case_transfers", name)
    op.create_index("clues_return_provisional", "clues", ["received_at", "id"],
                    postgresql_where=sa.text("return_deadline_provisional"))
    calendar = WorkCalendar()
    conn = op.get_bind()
    for year, revision, holidays, makeup in conn.execute(sa.text(
            "SELECT year, revision, holidays, makeup_workdays FROM counted_schedules")).all():
        calendar.apply(YearSchedule(year, frozenset(holidays), frozenset(makeup), revision=revision))
    rows = conn.execute(sa.text("SELECT id, dispatched_at, return_deadline FROM clues WHERE state = 'dispatched' "
                                "AND dispatched_at IS NOT NULL AND return_deadline IS NOT NULL")).all()
    for clue_id, start, deadline in rows:
        conn.execute(sa.text("UPDATE clues SET return_deadline_from = :start, return_deadline_workdays = :n, "
                             "return_deadline_provisional = :provisional WHERE id = :id"),
                     {"id": clue_id, "start": start, "n": calendar.workdays_between(start, deadline),
                      "provisional": calendar.is_provisional(start, deadline)})
    for status, (timer, name, start_column) in RUNNING.items():
        rows = conn.execute(sa.text(f"SELECT id, {start_column}, {name} FROM case_transfers WHERE status = :status "
                                    f"AND {start_column} IS NOT NULL AND {name} IS NOT NULL "
                                    "AND NOT (:timer = ANY(overdue))"), {"status": status, "timer": timer}).all()
        for transfer_id, start, deadline in rows:
            n = round((deadline - start) / timedelta(days=1))
            conn.execute(sa.text(f"UPDATE case_transfers SET {name}_from = :start, {name}_workdays = :n, "
                                 f"{name}_provisional = true WHERE id = :id"),
                         {"id": transfer_id, "start": start, "n": n})


def downgrade() -> None:
    """The transfers' deadlines stay as counted in working days."""
    op.drop_index("clues_return_provisional", table_name="clues")
    for table, names in (("clues", CLUE_DEADLINES), ("case_transfers", TRANSFER_DEADLINES)):
        for name in names:
            for column in ("provisional", "workdays", "from"):
                op.drop_column(table, f"{name}_{column}")
