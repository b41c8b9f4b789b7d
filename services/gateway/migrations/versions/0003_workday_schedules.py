"""The official working-day schedule of each year, as the office uploads and corrects it.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision, down_revision, branch_labels, depends_on = "0003", "0002", None, None


def upgrade() -> None:
    op.create_table(
        "workday_schedules",
        sa.Column("year", sa.Integer(), autoincrement=False, primary_key=True),
        sa.Column("holidays", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("makeup_workdays", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("notice", sa.Text(), server_default="", nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workday_schedules")
