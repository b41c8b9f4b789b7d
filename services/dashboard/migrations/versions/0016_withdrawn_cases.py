"""A case the registry withdrew (registry.adjudication.withdrawn.v1): ``withdrawn_at``. The registry now publishes
every withdrawal, so a case is open until decided or withdrawn, no longer guessed from the directory. The cases that
guess closed (the entity's record shows it assigned or closed since the request) take the record's time, so the
office's figure does not move while the registry publishes the withdrawals of the cases before its revision 0010.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0016", "0015", None, None


def upgrade() -> None:
    op.add_column("adjudication_cases", sa.Column("withdrawn_at", sa.DateTime(timezone=True)))
    op.execute("""
        UPDATE adjudication_cases AS a SET withdrawn_at = e.updated_at FROM entities e
        WHERE e.uscc = a.uscc AND a.decided_at IS NULL AND e.updated_at >= a.requested_at
          AND (e.assignment_state = 'assigned' OR e.status <> 'active')
    """)
    op.drop_index("adjudication_open", table_name="adjudication_cases")
    op.create_index("adjudication_open", "adjudication_cases", ["requested_at"],
                    postgresql_where=sa.text("decided_at IS NULL AND withdrawn_at IS NULL"))


def downgrade() -> None:
    op.drop_index("adjudication_open", table_name="adjudication_cases")
    op.create_index("adjudication_open", "adjudication_cases", ["requested_at"],
                    postgresql_where=sa.text("decided_at IS NULL"))
    op.drop_column("adjudication_cases", "withdrawn_at")
