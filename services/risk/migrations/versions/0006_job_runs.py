"""The daily moment each periodic daily job last ran for: entities are re-scored once a day as their observations
leave their windows (``usecases/ageing.py``), once across replicas and restarts.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0006", "0005", None, None


def upgrade() -> None:
    op.create_table("job_runs",
                    sa.Column("job", sa.Text(), primary_key=True),
                    sa.Column("ran_for", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    op.drop_table("job_runs")
