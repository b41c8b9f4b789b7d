"""Alerts: the score each was raised at, which the cool-down compares a new score with (``score`` is the latest, as
the entity is re-scored at the alert's level). Alerts raised before take the score their raising recorded in their
history, else their current score.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0007", "0006", None, None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("raised_score", sa.Float()))
    op.execute("""
        UPDATE alerts a SET raised_score = coalesce((
            SELECT (h.details ->> 'score')::float8 FROM alert_history h
            WHERE h.alert_id = a.id AND h.action = 'raise' AND jsonb_typeof(h.details -> 'score') = 'number'
            ORDER BY h.id LIMIT 1), a.score)""")
    op.alter_column("alerts", "raised_score", nullable=False)


def downgrade() -> None:
    op.drop_column("alerts", "raised_score")
