"""A new-responsibility notification is superseded once a later notification to its department about its entity
is issued (its responsibility ended, the entity closed, or it was told anew), whatever the entity's record says
afterwards: ``superseded_at``, set when the later one is issued. The notifications before this revision take the
issue time of the first later one (one issued in the same transaction is not told apart: such a notice stays
governed by the entity's current record, as before).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0009", "0008", None, None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("superseded_at", sa.DateTime(timezone=True)))
    op.execute("""
        UPDATE notifications AS n SET superseded_at = later.issued_at
        FROM (SELECT n.id, min(l.issued_at) AS issued_at FROM notifications n
              JOIN notifications l ON l.uscc = n.uscc AND l.department = n.department AND l.issued_at > n.issued_at
              WHERE n.kind = 'new_responsibility' GROUP BY n.id) AS later
        WHERE n.id = later.id
    """)


def downgrade() -> None:
    op.drop_column("notifications", "superseded_at")
