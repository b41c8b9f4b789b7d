"""A risk alert's response deadline as the other deadlines are shown: 暂定 while it is counted through a year whose
holiday schedule is not published yet, and the recomputed one from ``risk.alert.respond-by-changed.v1`` (passed
over before: the pages kept the first date, unmarked), the earlier one kept when it had already passed. Alerts
raised before this revision show theirs unmarked until a rebuild (``python -m dashboard rebuild``).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0010", "0009", None, None


def upgrade() -> None:
    op.add_column("risk_alerts", sa.Column("respond_by_provisional", sa.Boolean(), nullable=False,
                                           server_default=sa.text("false")))
    op.add_column("risk_alerts", sa.Column("previous_respond_by", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("risk_alerts", "previous_respond_by")
    op.drop_column("risk_alerts", "respond_by_provisional")
