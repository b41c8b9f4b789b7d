"""Alerts: a response deadline counted in working days keeps its number of days, and whether it was counted
through a year whose holiday schedule is not published yet (recomputed once it is). Unanswered alerts counted
in working days (their plan in the model version they were raised under) and due after the last day the
shipped holiday data knows are marked provisional.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from jsp_common import clock
from jsp_common.workdays import WorkCalendar, deadline_end_of

revision, down_revision, branch_labels, depends_on = "0002", "0001", None, None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("respond_within_workdays", sa.Integer()))
    op.add_column("alerts", sa.Column("respond_by_provisional", sa.Boolean(), nullable=False,
                                      server_default=sa.text("false")))
    op.execute("""
        UPDATE alerts a SET respond_within_workdays = (p.plan->>'respond_within_workdays')::int
        FROM model_versions m, jsonb_array_elements(m.document->'plans') AS p(plan)
        WHERE m.version = a.model_version AND p.plan->>'level' = a.level
          AND p.plan->>'respond_within_workdays' IS NOT NULL AND p.plan->>'respond_within_hours' IS NULL""")
    known = deadline_end_of(WorkCalendar().known_until(clock.today()))
    op.execute(sa.text("UPDATE alerts SET respond_by_provisional = true WHERE respond_within_workdays IS NOT NULL "
                       "AND state IN ('open', 'acknowledged') AND respond_by > :known").bindparams(known=known))
    op.create_index("alerts_respond_by_provisional", "alerts", ["raised_at", "id"],
                    postgresql_where=sa.text("respond_by_provisional AND state IN ('open', 'acknowledged')"))


def downgrade() -> None:
    op.drop_index("alerts_respond_by_provisional", table_name="alerts")
    op.drop_column("alerts", "respond_by_provisional")
    op.drop_column("alerts", "respond_within_workdays")
