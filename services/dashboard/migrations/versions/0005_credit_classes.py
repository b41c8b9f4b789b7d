"""Each entity's credit risk class in force (risk.credit-classes.v1), so the office lists entities by class. Classes
published before this revision come from a rebuild (``python -m dashboard rebuild``): the topic is compacted and
keeps every entity's latest class.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0005", "0004", None, None


def upgrade() -> None:
    op.create_table(
        "credit_classes",
        sa.Column("uscc", sa.Text(), primary_key=True),
        sa.Column("credit_class", sa.Text(), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("corrected_by_office", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("credit_classes_class", "credit_classes", ["credit_class"])


def downgrade() -> None:
    op.drop_index("credit_classes_class", table_name="credit_classes")
    op.drop_table("credit_classes")
