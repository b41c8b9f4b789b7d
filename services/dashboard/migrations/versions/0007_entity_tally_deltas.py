"""The entity tally as delta rows, as the clue tally is (revision 0006): the triggers on ``entities`` inserted into
one row per city, department and week, in place (``ON CONFLICT ... DO UPDATE``), so two transactions of the read
model writing entities of the same keys in different orders waited for each other crosswise, and PostgreSQL broke
the deadlock by failing one (retried, the work done twice). They now add each statement's changes as rows never
updated; the command page's refresh folds them (``adapters/tallies.py``).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision, down_revision, branch_labels, depends_on = "0007", "0006", None, None

_ROWS = """
    SELECT coalesce(r.city_code, '') AS city_code, d AS department,
           date_trunc('week', r.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date AS week, {sign} AS n
    FROM {rows} r, unnest(array_append(r.departments, '')) AS d"""
_ADD = """
        INSERT INTO entity_tally (city_code, department, week, n, delta)
        SELECT city_code, department, week, sum(n), true FROM ({changes}) AS changes GROUP BY 1, 2, 3
        HAVING sum(n) <> 0;"""

TALLY = f"""CREATE OR REPLACE FUNCTION entities_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{_ADD.format(changes=_ROWS.format(sign=1, rows='new_rows'))}
    ELSIF TG_OP = 'DELETE' THEN{_ADD.format(changes=_ROWS.format(sign=-1, rows='old_rows'))}
    ELSE{_ADD.format(changes=_ROWS.format(sign=-1, rows='old_rows') + ' UNION ALL '
                       + _ROWS.format(sign=1, rows='new_rows'))}
    END IF;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.execute("ALTER TABLE entity_tally DROP CONSTRAINT entity_tally_pkey")
    op.execute("ALTER TABLE entity_tally ADD COLUMN delta boolean NOT NULL DEFAULT false")
    op.execute("ALTER TABLE entity_tally ALTER COLUMN delta DROP DEFAULT")
    op.create_index("entity_tally_key", "entity_tally", ["department", "city_code", "week"])
    op.execute("CREATE INDEX entity_tally_deltas ON entity_tally (department) WHERE delta")
    op.execute(TALLY)


def downgrade() -> None:
    op.execute("LOCK TABLE entity_tally")
    op.execute("WITH gone AS (DELETE FROM entity_tally RETURNING *) "
               "INSERT INTO entity_tally (city_code, department, week, n, delta) "
               "SELECT city_code, department, week, sum(n), false FROM gone GROUP BY 1, 2, 3 HAVING sum(n) <> 0")
    op.drop_index("entity_tally_deltas", table_name="entity_tally")
    op.drop_index("entity_tally_key", table_name="entity_tally")
    op.execute("ALTER TABLE entity_tally DROP COLUMN delta")
    op.execute("ALTER TABLE entity_tally ADD PRIMARY KEY (city_code, department, week)")
    op.execute(_initial().TALLY[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))


def _initial():
    """Revision 0001, for the in-place function it created."""
    spec = importlib.util.spec_from_file_location("dashboard_0001", Path(__file__).with_name("0001_initial.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
