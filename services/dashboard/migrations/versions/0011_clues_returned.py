"""The returns and re-dispatches figures count the clues returned (退回) and re-dispatched (退回后再分派), as the
lists they open do (``returns > 0``, ``redispatches > 0``): the clue tally summed each clue's returns and
re-dispatches, so a clue returned twice made the card say 2 and its list hold 1. The tally's columns ``returns``
and ``redispatches`` now count a clue once it was (their names kept: replicas still running the code before
this revision read them, unchanged, during a rolling upgrade), kept by the same triggers; what they held beyond
that for a clue returned or re-dispatched more than once is taken off by delta rows, folded by the next figure
refresh, without counting the tally again from every clue. The clues' writers wait meanwhile (the figures are
read as usual), so none adds a change counted the old way after the correction was read.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision, down_revision, branch_labels, depends_on = "0011", "0010", None, None


def _clue_tally():
    """Revision 0006: its tally statement, and the function it created (for the downgrade)."""
    spec = importlib.util.spec_from_file_location("dashboard_0006", Path(__file__).with_name("0006_clue_tally.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_FIRST = _clue_tally()
_ADD = _FIRST._ADD  # the tally's columns and grouping are revision 0006's; only what a clue adds changes

_SCOPES = """CROSS JOIN LATERAL (
        SELECT DISTINCT s FROM unnest(array_append(r.co_departments || r.lead_department, '')) AS s
        WHERE s IS NOT NULL) AS scopes"""
_KEY = """s AS scope, coalesce(r.lead_department, '') AS lead_department, coalesce(r.city_code, '') AS city_code,
           r.state, date_trunc('week', r.received_at AT TIME ZONE 'Asia/Shanghai')::date AS week"""
# A clue's rows in the tally, one per scope: the clue, whether it was returned, whether re-dispatched.
_ROWS = f"""
    SELECT {_KEY}, {{sign}} AS n, {{sign}} * (r.returns > 0)::int AS returns,
           {{sign}} * (r.redispatches > 0)::int AS redispatches
    FROM {{rows}} r {_SCOPES}"""
# A clue's returns and re-dispatches after its first, which revision 0006 counted.
_BEYOND_FIRST = f"""
    SELECT {_KEY}, 0 AS n, {{sign}} * greatest(r.returns - 1, 0) AS returns,
           {{sign}} * greatest(r.redispatches - 1, 0) AS redispatches
    FROM clues r {_SCOPES}
    WHERE r.returns > 1 OR r.redispatches > 1"""
TALLY = f"""CREATE OR REPLACE FUNCTION clues_tally() RETURNS trigger LANGUAGE plpgsql AS $$
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
    op.execute("LOCK TABLE clues IN SHARE MODE")
    op.execute(TALLY)
    op.execute(_ADD.format(changes=_BEYOND_FIRST.format(sign=-1)))


def downgrade() -> None:
    op.execute("LOCK TABLE clues IN SHARE MODE")
    op.execute(_ADD.format(changes=_BEYOND_FIRST.format(sign=1)))
    op.execute(_FIRST.TALLY[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
