"""Risk alerts (risk.alerts.v1) and the entities joint inspection tasks are to visit (dept.*.inspections.v1):
the command page's risk and inspection panels.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "risk_alerts",
        sa.Column("alert_id", sa.Text(), primary_key=True),
        sa.Column("uscc", sa.Text(), nullable=False),
        sa.Column("entity_name", sa.Text()),
        sa.Column("city_code", sa.Text()),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("departments", ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("score", sa.Float(), nullable=False, server_default="0"),
        sa.Column("raised_at", TZ), sa.Column("respond_by", TZ), sa.Column("acknowledged_at", TZ),
        sa.Column("responded_at", TZ), sa.Column("escalated_at", TZ), sa.Column("closed_at", TZ),
    )
    op.create_index("risk_alerts_unclosed", "risk_alerts", ["level"], postgresql_where=sa.text("closed_at IS NULL"))
    op.create_index("risk_alerts_departments", "risk_alerts", ["departments"], postgresql_using="gin")
    op.create_index("risk_alerts_uscc", "risk_alerts", ["uscc"])
    op.create_table(
        "inspection_targets",
        sa.Column("task_id", sa.Text(), primary_key=True),
        sa.Column("uscc", sa.Text(), primary_key=True),
        sa.Column("draw_id", sa.Text(), nullable=False),
        sa.Column("entity_name", sa.Text(), nullable=False, server_default=""),
        sa.Column("city_code", sa.Text()),
        sa.Column("matter_code", sa.Text(), nullable=False),
        sa.Column("lead_department", sa.Text(), nullable=False),
        sa.Column("departments", ARRAY(sa.Text()), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("assigned_at", TZ, nullable=False),
    )
    op.create_index("inspection_targets_period_end", "inspection_targets", ["period_end"])
    op.create_index("inspection_targets_departments", "inspection_targets", ["departments"], postgresql_using="gin")
    op.create_index("inspection_targets_draw", "inspection_targets", ["draw_id"])


def downgrade() -> None:
    op.drop_table("inspection_targets")
    op.drop_table("risk_alerts")
