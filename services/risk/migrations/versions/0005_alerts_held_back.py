"""Standings: the level whose alert the cool-down held back and when the cool-down ends, so that the alert is raised
then if the level still holds (``usecases/cooldown.py``).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0005", "0004", None, None


def upgrade() -> None:
    op.add_column("standings", sa.Column("alert_held_level", sa.Text()))
    op.add_column("standings", sa.Column("alert_held_until", sa.DateTime(timezone=True)))
    op.create_index("standings_alert_held", "standings", ["alert_held_until"],
                    postgresql_where=sa.text("alert_held_until IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("standings_alert_held", table_name="standings")
    op.drop_column("standings", "alert_held_until")
    op.drop_column("standings", "alert_held_level")
