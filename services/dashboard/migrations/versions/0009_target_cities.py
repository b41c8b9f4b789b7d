"""A planned visit's city comes with its entity's record when that arrives after the task: the targets still
without a city, indexed by entity (a rebuild or a first start applies the small department topics' tasks before
most of the directory's records; their targets stayed without a city for good).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0009", "0008", None, None


def upgrade() -> None:
    op.create_index("inspection_targets_no_city", "inspection_targets", ["uscc"],
                    postgresql_where=sa.text("city_code IS NULL"))
    op.execute("UPDATE inspection_targets t SET city_code = e.city_code FROM entities e "
               "WHERE t.city_code IS NULL AND e.uscc = t.uscc AND e.city_code IS NOT NULL")


def downgrade() -> None:
    op.drop_index("inspection_targets_no_city", table_name="inspection_targets")
