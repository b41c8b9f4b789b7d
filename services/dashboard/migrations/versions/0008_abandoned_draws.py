"""Draws abandoned (or refused), kept: a department's part of a joint task (``inspection.task.assigned.v1`` on its
own topic) applied after the draw's abandonment (``inspection.draw.abandoned.v1`` on ``inspection.draws.v1``, read
by another consumer) wrote the abandoned draw's targets back, and they counted as planned, then overdue, visits
for good. Draws abandoned before this revision come back with a rebuild (``python -m dashboard rebuild``).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0008", "0007", None, None


def upgrade() -> None:
    op.create_table(
        "abandoned_draws",
        sa.Column("draw_id", sa.Text(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("abandoned_draws")
