"""The clue figures from a tally, not from every clue: ``clue_tally`` holds, per scope (the office: ''; else each
department a clue concerns, lead or co-operating), lead department, city, state and week received, how many clues
there are and their returns and re-dispatches. A trigger on ``clues`` adds each statement's changes as delta rows
(inserted, never updated: concurrent writers wait on no tally row); the figures' refresh folds the deltas into one
row per key (``adapters/clue_figures.py``). The overdue and due-soon counts come from the clues whose deadline runs
and is near (a partial index), the chased and escalated ones from the alerts: the figures no longer read every
clue the read model holds, which grows by about 60,000 a day at the province's scale.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0006", "0005", None, None

# A clue's rows in the tally: one per scope, keyed as the figures group them ('' for no lead or city).
_ROWS = """
    SELECT s AS scope, coalesce(r.lead_department, '') AS lead_department, coalesce(r.city_code, '') AS city_code,
           r.state, date_trunc('week', r.received_at AT TIME ZONE 'Asia/Shanghai')::date AS week,
           {sign} AS n, {sign} * r.returns AS returns, {sign} * r.redispatches AS redispatches
    FROM {rows} r CROSS JOIN LATERAL (
        SELECT DISTINCT s FROM unnest(array_append(r.co_departments || r.lead_department, '')) AS s
        WHERE s IS NOT NULL) AS scopes"""
_ADD = """
        INSERT INTO clue_tally (scope, lead_department, city_code, state, week, n, returns, redispatches, delta)
        SELECT scope, lead_department, city_code, state, week, sum(n), sum(returns), sum(redispatches), true
        FROM ({changes}) AS changes GROUP BY 1, 2, 3, 4, 5
        HAVING sum(n) <> 0 OR sum(returns) <> 0 OR sum(redispatches) <> 0;"""

TALLY = (
    f"""CREATE FUNCTION clues_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{_ADD.format(changes=_ROWS.format(sign=1, rows='new_rows'))}
    ELSIF TG_OP = 'DELETE' THEN{_ADD.format(changes=_ROWS.format(sign=-1, rows='old_rows'))}
    ELSE{_ADD.format(changes=_ROWS.format(sign=-1, rows='old_rows') + ' UNION ALL '
                       + _ROWS.format(sign=1, rows='new_rows'))}
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER clues_tally_insert AFTER INSERT ON clues REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clues_tally()""",
    """CREATE TRIGGER clues_tally_update AFTER UPDATE ON clues REFERENCING OLD TABLE AS old_rows
    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION clues_tally()""",
    """CREATE TRIGGER clues_tally_delete AFTER DELETE ON clues REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION clues_tally()""",
)


def upgrade() -> None:
    op.create_table(
        "clue_tally",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("lead_department", sa.Text(), nullable=False),
        sa.Column("city_code", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("returns", sa.BigInteger(), nullable=False),
        sa.Column("redispatches", sa.BigInteger(), nullable=False),
        sa.Column("delta", sa.Boolean(), nullable=False),
    )
    op.create_index("clue_tally_key", "clue_tally", ["scope", "lead_department", "city_code", "state", "week"])
    op.create_index("clue_tally_deltas", "clue_tally", ["scope"], postgresql_where=sa.text("delta"))
    op.create_index("clues_timed_deadline", "clues", ["deadline"],
                    postgresql_where=sa.text("state IN ('dispatched', 'accepted', 'verifying', 'handled')"))
    for statement in TALLY:
        op.execute(statement)
    op.execute("INSERT INTO clue_tally (scope, lead_department, city_code, state, week, n, returns, redispatches, "
               "delta) SELECT scope, lead_department, city_code, state, week, sum(n), sum(returns), "
               f"sum(redispatches), false FROM ({_ROWS.format(sign=1, rows='clues')}) AS rows GROUP BY 1, 2, 3, 4, 5")


def downgrade() -> None:
    for op_name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER clues_tally_{op_name} ON clues")
    op.execute("DROP FUNCTION clues_tally()")
    op.drop_index("clues_timed_deadline", table_name="clues")
    op.drop_table("clue_tally")
