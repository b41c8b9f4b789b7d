"""Results recorded at a planned visit (inspection.result.recorded.v1): when it was inspected and the date by
which the results are to be published, so the office sees results awaiting publication past their deadline.
Visits learnt before this revision get them from a rebuild (``python -m dashboard rebuild``), which replays
the topics.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0004", "0003", None, None


def upgrade() -> None:
    op.add_column("inspection_targets", sa.Column("inspected_on", sa.Date()))
    op.add_column("inspection_targets", sa.Column("publish_by", sa.Date()))
    op.add_column("inspection_targets", sa.Column("publish_by_provisional", sa.Boolean(), nullable=False,
                                                  server_default=sa.text("false")))
    op.add_column("inspection_targets", sa.Column("recorded_at", sa.DateTime(timezone=True)))
    op.create_index("inspection_targets_publish_by", "inspection_targets", ["publish_by"],
                    postgresql_where=sa.text("publish_by IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("inspection_targets_publish_by", table_name="inspection_targets")
    for column in ("recorded_at", "publish_by_provisional", "publish_by", "inspected_on"):
        op.drop_column("inspection_targets", column)
