"""A new-responsibility notification is superseded once a later notice to its department about its entity arrived
(its responsibility ended, the entity closed, or it was told anew), as the registry marks it (its revision 0009):
``superseded_at``, set as the later notice is taken in, so that notices the registry issued in one poll, which share
their time, are told apart by the order they arrive in. Existing notifications take the issue time of the first
later one (one of the same time is not told apart: such a notice stays governed by the entity's record).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0015", "0014", None, None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("superseded_at", sa.DateTime(timezone=True)))
    op.execute("""
        UPDATE notifications AS n SET superseded_at = later.issued_at
        FROM (SELECT n.notification_id, min(l.issued_at) AS issued_at FROM notifications n
              JOIN notifications l ON l.uscc = n.uscc AND l.department = n.department AND l.issued_at > n.issued_at
              WHERE n.kind = 'new_responsibility' GROUP BY n.notification_id) AS later
        WHERE n.notification_id = later.notification_id
    """)


def downgrade() -> None:
    op.drop_column("notifications", "superseded_at")
