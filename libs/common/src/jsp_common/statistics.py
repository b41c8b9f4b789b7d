"""Planner statistics of a table that fills up while the service runs: a directory replica on a new deployment,
the clues of a first day. PostgreSQL's autovacuum analyses a table a minute or more after it changed; until then
the planner knows nothing of the rows (it may read every one of them for each row of a join, where an index
would read a few), and what a service reads of the statistics (the clues service's commonest name pieces) is
empty. The writer of such a table analyses it itself as it grows, a few times per doubling, in the transaction
that wrote the rows::

    growth = Growth()                      # one per table, kept by the writer for its process
    ...
    await keep_analysed(session, "replica_entities", growth, written)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class Growth:
    """When a table being written is analysed again: once the rows written since its last analysis reach
    ``share`` of its size then, and at least ``least``. Pure: the caller reads the size and analyses."""

    share: float = 0.5
    least: int = 100
    size: float | None = None  # rows at its last analysis (None: not read yet)
    written: int = 0           # rows written since

    def known(self, size: float) -> None:
        """The table's size at its last analysis (negative: never analysed, as PostgreSQL says it)."""
        self.size, self.written = max(size, 0.0), 0

    def wrote(self, rows: int) -> bool:
        """Count ``rows`` written; whether the table is due an analysis."""
        self.written += rows
        return self.size is not None and self.rows_until_due() <= 0

    def rows_until_due(self) -> int:
        """How many more rows written make the table due an analysis (its size known: read it first)."""
        return math.ceil(max(self.least, self.share * (self.size or 0.0))) - self.written


async def estimated_rows(session: AsyncSession, table: str) -> float:
    """The table's rows as its last analysis counted them (-1: never analysed)."""
    found = await session.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
                                  {"name": f'"{table}"'})
    return float(found.scalar() or 0.0)


async def analyse(session: AsyncSession, table: str, *, skip_locked: bool = False,
                  columns: Sequence[str] = ()) -> float:
    """``ANALYZE`` the table (``skip_locked``: not now if another process is analysing or vacuuming it, rather
    than wait; ``columns``: only those, where the others are long texts that cost most of the work and that no
    statement filters by) and merge its GIN indexes' pending entries, as autovacuum's analysis does: rows
    written since their last merge wait in a list that every look-up through the index reads whole (a name's
    candidates among 5,000 entities: 0.9 ms with the entities of a fill pending, 0.03 merged). Returns its rows
    as counted."""
    only = f" ({', '.join(columns)})" if columns else ""
    await session.execute(text(f'ANALYZE {"(SKIP_LOCKED) " if skip_locked else ""}"{table}"{only}'))
    await session.execute(_MERGE_PENDING, {"name": f'"{table}"'})
    return await estimated_rows(session, table)


_MERGE_PENDING = text(
    "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = to_regclass(:name) AND a.amname = 'gin'")


async def keep_analysed(session: AsyncSession, table: str, growth: Growth, written: int, *,
                        columns: Sequence[str] = ()) -> None:
    """After ``written`` rows were written to ``table`` in ``session``'s transaction: analyse it there (its
    ``columns``, or all) if it has grown enough since its last analysis (its size read once per process first)."""
    if growth.size is None:
        growth.known(await estimated_rows(session, table))
    if growth.wrote(written):
        growth.known(await analyse(session, table, skip_locked=True, columns=columns))
