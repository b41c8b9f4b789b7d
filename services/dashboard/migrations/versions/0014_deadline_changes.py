"""When a notification's acknowledge-by time and an alert's response deadline were last recomputed (the registry's
``changed_at``, the risk service's ``at``): an older event applied again, a dead letter re-driven after the
recomputation was applied, no longer puts back the time it carried (a provisional one, 暂定, counted Monday to
Friday). Existing rows have none: the next recomputation sets it.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0014", "0013", None, None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("due_changed_at", sa.DateTime(timezone=True)))
    op.add_column("risk_alerts", sa.Column("respond_by_changed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("risk_alerts", "respond_by_changed_at")
    op.drop_column("notifications", "due_changed_at")
