"""Every adjudication case on registry.adjudication.v1, opened and closed: ``announced``, the status last published
for a case (NULL: not even its request). The bulk import opens and withdraws cases set-wise without their events;
the replicate job publishes them afterwards (requested, then withdrawn), as it publishes the import's records.

Before this revision no withdrawal was published, nor a request for a case the import opened. So the cases the
import opened that are still open wait for their request, the withdrawn cases whose request went out wait for their
withdrawal (the office's systems still list them), and the rest count as published as they stand (a case the import
opened and withdrew was never seen).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0010", "0009", None, None

# The detail the import gave the cases it opened (adapters.bulk).
_BY_IMPORT = "reason = 'no_rule_matched' AND detail LIKE 'no responsibility rule matches (import)%'"


def upgrade() -> None:
    op.add_column("adjudication_cases", sa.Column("announced", sa.Text()))
    op.execute(f"""
        UPDATE adjudication_cases SET announced = CASE
            WHEN {_BY_IMPORT} THEN CASE WHEN status = 'open' THEN NULL ELSE status END
            WHEN status = 'withdrawn' THEN 'open'
            ELSE status END
    """)
    op.create_index("adjudication_unannounced", "adjudication_cases", ["id"],
                    postgresql_where=sa.text("announced IS DISTINCT FROM status"))


def downgrade() -> None:
    op.drop_index("adjudication_unannounced", table_name="adjudication_cases")
    op.drop_column("adjudication_cases", "announced")
