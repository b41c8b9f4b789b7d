"""The re-dispatches figure (退回后再分派) counts the clues the office sent on again after a return. The clues
service records such a dispatch as ``redispatch`` (or ``arbitrate``, 仲裁, when the office decides between the
departments); the read model counted only a ``dispatch`` from ``returned``, which the clues service never records,
so the figure, its list and each clue's count said 0. Each clue's re-dispatches are counted again from its
transitions; the clue tally follows through its trigger (revision 0011), as for any change of a clue.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision, down_revision, branch_labels, depends_on = "0013", "0012", None, None


def upgrade() -> None:
    op.execute("""
        UPDATE clues AS c SET redispatches = r.n
        FROM (SELECT clue_id, count(*) AS n FROM clue_transitions
              WHERE action IN ('redispatch', 'arbitrate', 'dispatch') AND from_state = 'returned'
              GROUP BY clue_id) AS r
        WHERE c.clue_id = r.clue_id AND c.redispatches <> r.n
    """)


def downgrade() -> None:
    """Nothing to undo: the counts are what the transitions say."""
