"""The tallies the figures are sums over (``tables.entity_tally``, ``tables.active_entity_tally``,
``tables.clue_tally``): triggers on the read model's tables add each statement's changes as delta rows (inserted,
never updated: concurrent writers wait on no tally row, and cannot deadlock on them); the command page's refresh
folds them into one row per key. A key's figures are the sums of its rows, folded or not."""

from __future__ import annotations

from functools import cache

from sqlalchemy import BigInteger, Table, TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import lock_not_available


async def fold(session: AsyncSession, tally: Table) -> None:
    """Fold the tally's delta rows into one row per key they touch (the sums unchanged), when that waits for
    nothing: one fold of a tally at a time (a transaction-level advisory lock), and none while the read model's
    writers are held (a rebuild putting its copy in place: the pages, whose refresh folds, still read meanwhile).
    The rows the deltas are folded with are deleted and their sums inserted in one statement, while writers go on
    adding deltas."""
    if not (await session.execute(text(f"SELECT pg_try_advisory_xact_lock(hashtext('dashboard.{tally.name}.fold'))"))
            ).scalar_one():
        return
    try:
        async with session.begin_nested():
            await session.execute(text(f"LOCK TABLE {tally.name} IN ROW EXCLUSIVE MODE NOWAIT"))
            await session.execute(_folding(tally))
    except DBAPIError as exc:
        if not lock_not_available(exc):
            raise


@cache
def _folding(tally: Table) -> TextClause:
    sums = [c.name for c in tally.c if isinstance(c.type, BigInteger)]
    keys = [c.name for c in tally.c if c.name not in sums and c.name != "delta"]
    key, by = ", ".join(keys), ", ".join(str(n + 1) for n in range(len(keys)))
    return text(f"""
WITH touched AS (SELECT DISTINCT {key} FROM {tally.name} WHERE delta),
gone AS (
    DELETE FROM {tally.name} t USING touched k
    WHERE ({", ".join(f"t.{k}" for k in keys)}) = ({", ".join(f"k.{k}" for k in keys)})
    RETURNING t.*)
INSERT INTO {tally.name} ({key}, {", ".join(sums)}, delta)
SELECT {key}, {", ".join(f"sum({s})" for s in sums)}, false
FROM gone GROUP BY {by} HAVING {" OR ".join(f"sum({s}) <> 0" for s in sums)}
ORDER BY {by}""")
