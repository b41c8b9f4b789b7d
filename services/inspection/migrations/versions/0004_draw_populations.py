"""Draw populations: the sorted members of each stratum of a performed draw, written by the database while
it ranks them (the record names the population; the public record lists the members from here).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision, down_revision, branch_labels, depends_on = "0004", "0003", None, None


def upgrade() -> None:
    op.create_table(
        "draw_populations",
        sa.Column("draw_id", sa.Text(), sa.ForeignKey("draws.id"), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("credit_class", sa.Text(), nullable=False),
        sa.Column("members", ARRAY(sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", "population", "credit_class"),
    )


def downgrade() -> None:
    op.drop_table("draw_populations")
