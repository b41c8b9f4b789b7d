"""Deadlines counted through a year whose holiday schedule is not published yet: whether a notification's
acknowledge-by time and a clue's handling deadline are provisional, and the earlier date when a recomputation
moved one that had already passed. Rows learnt before this revision are filled in by a rebuild
(``python -m dashboard rebuild``), which replays the topics.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0002", "0001", None, None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("acknowledge_by_provisional", sa.Boolean(), nullable=False,
                                             server_default=sa.text("false")))
    op.add_column("notifications", sa.Column("previous_acknowledge_by", sa.DateTime(timezone=True)))
    op.add_column("clues", sa.Column("deadline_provisional", sa.Boolean(), nullable=False,
                                     server_default=sa.text("false")))
    op.add_column("clues", sa.Column("previous_deadline", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("clues", "previous_deadline")
    op.drop_column("clues", "deadline_provisional")
    op.drop_column("notifications", "previous_acknowledge_by")
    op.drop_column("notifications", "acknowledge_by_provisional")
