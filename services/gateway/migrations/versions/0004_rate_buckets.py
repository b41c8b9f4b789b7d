"""Rate limits shared by the gateway's replicas: each caller's token bucket in the database.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0004", "0003", None, None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("caller", sa.Text(), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("rate_buckets_at", "rate_buckets", ["at"])


def downgrade() -> None:
    op.drop_table("rate_buckets")
