"""Inspection requests: the targeted inspections risk alerts ask for (risk.inspection-requests.v1), the
must-inspect list that the next joint draw of a department asked takes in.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision, down_revision, branch_labels, depends_on = "0005", "0004", None, None


def upgrade() -> None:
    op.create_table(
        "inspection_requests",
        sa.Column("request_id", sa.Text(), primary_key=True),
        sa.Column("alert_id", sa.Text(), nullable=False),
        sa.Column("uscc", sa.Text(), nullable=False),
        sa.Column("entity_name", sa.Text()),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("departments", ARRAY(sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True)),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", sa.Text()),
        sa.Column("covered_at", sa.DateTime(timezone=True)),
    )
    op.create_index("inspection_requests_open", "inspection_requests", ["uscc"],
                    postgresql_where=sa.text("covered_at IS NULL"))
    op.create_index("inspection_requests_departments", "inspection_requests", ["departments"],
                    postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("inspection_requests_departments", table_name="inspection_requests")
    op.drop_index("inspection_requests_open", table_name="inspection_requests")
    op.drop_table("inspection_requests")
