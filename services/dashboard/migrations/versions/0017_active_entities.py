"""The entities supervised (监管对象) and the C and D figures count the businesses in operation (status active): the
entity tally counted every entity ever recorded, so a deregistered or revoked business stayed in 监管对象 for good,
and in the D figure if it closed while of class D. ``active_entity_tally`` holds the active entities per city and
department, kept by the entity tally's triggers (the function below adds its rows), counted from the entities once
here while their writers wait (the figures are read as usual). ``entity_tally`` stays as it was, every entity by the
week first seen (the weekly registrations), so replicas still running the code before this revision read and fold
it unchanged during a rolling upgrade.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0017", "0016", None, None


def _entity_tally():
    """Revision 0007: the entity tally's rows and statement, and its function (for the downgrade)."""
    spec = importlib.util.spec_from_file_location("dashboard_0007",
                                                  Path(__file__).with_name("0007_entity_tally_deltas.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_WEEKS = _entity_tally()
_ACTIVE_ROWS = """
    SELECT coalesce(r.city_code, '') AS city_code, d AS department, {sign} AS n
    FROM {rows} r, unnest(array_append(r.departments, '')) AS d WHERE r.status = 'active'"""
_ADD_ACTIVE = """
        INSERT INTO active_entity_tally (city_code, department, n, delta)
        SELECT city_code, department, sum(n), true FROM ({changes}) AS changes GROUP BY 1, 2
        HAVING sum(n) <> 0;"""


def _both(changes: str) -> str:
    weeks = " UNION ALL ".join(_WEEKS._ROWS.format(sign=sign, rows=rows) for sign, rows in changes)
    active = " UNION ALL ".join(_ACTIVE_ROWS.format(sign=sign, rows=rows) for sign, rows in changes)
    return _WEEKS._ADD.format(changes=weeks) + _ADD_ACTIVE.format(changes=active)


TALLY = f"""CREATE OR REPLACE FUNCTION entities_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{_both([(1, 'new_rows')])}
    ELSIF TG_OP = 'DELETE' THEN{_both([(-1, 'old_rows')])}
    ELSE{_both([(-1, 'old_rows'), (1, 'new_rows')])}
    END IF;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.execute("LOCK TABLE entities IN SHARE MODE")
    op.create_table(
        "active_entity_tally",
        sa.Column("city_code", sa.Text, nullable=False),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("delta", sa.Boolean, nullable=False),
    )
    op.create_index("active_entity_tally_key", "active_entity_tally", ["department", "city_code"])
    op.create_index("active_entity_tally_deltas", "active_entity_tally", ["department"],
                    postgresql_where=sa.text("delta"))
    op.execute(TALLY)
    op.execute("INSERT INTO active_entity_tally (city_code, department, n, delta) "
               "SELECT city_code, department, sum(n), false FROM ("
               + _ACTIVE_ROWS.format(sign=1, rows="entities") + ") AS active GROUP BY 1, 2 ORDER BY 1, 2")


def downgrade() -> None:
    op.execute("LOCK TABLE entities IN SHARE MODE")
    op.execute(_WEEKS.TALLY)
    op.drop_table("active_entity_tally")
