"""Many rows in one statement of fixed text: ``INSERT INTO t (a, b) SELECT ... FROM unnest(:a, :b)``, a parameter
per column holding that column's values.

An executemany (or a multi-row ``VALUES`` list) renders a statement whose text changes with the number of rows,
so PostgreSQL parses and plans it again, and asyncpg prepares it again, for most batches; this one is prepared
once per table and set of columns. The columns' types come from the table definition: text-array columns travel
as one string joined by U+001F (an array of arrays must be rectangular, so lists of different lengths cannot be
unnested), JSONB as JSON text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import Table, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Query

SEP = "\x1f"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _wire(table: Table, name: str) -> Callable[[Any], Any] | None:
    """How a value travels in its column's array (None: as it is)."""
    kind = table.c[name].type
    if isinstance(kind, JSONB):
        return _json
    if isinstance(kind, ARRAY):
        return SEP.join
    return None


def _select(table: Table, name: str) -> str:
    kind = table.c[name].type
    if isinstance(kind, JSONB):
        return f"u.{name}::jsonb"
    if isinstance(kind, ARRAY):
        return f"string_to_array(u.{name}, chr(31))"
    return f"u.{name}"


@dataclass(frozen=True)
class UnnestInsert:
    """The statement (compiled once for asyncpg), and each column with how its values travel."""

    query: Query
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    def params(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, list]:
        """The statement's parameters for ``rows`` (each holding every column)."""
        return {c: [conv(r[c]) for r in rows] if conv else [r[c] for r in rows] for c, conv in self.columns}

    async def run(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> list[dict]:
        """Insert ``rows`` in the session's transaction, through asyncpg (SQLAlchemy's bind processing of a
        column's array cost more than the statement); the rows ``RETURNING`` gives, as dicts."""
        return await self.query.all(session, **self.params(rows))


@lru_cache(maxsize=None)
def unnest_insert(table: Table, names: tuple[str, ...], *, suffix: str = "",
                  returning: tuple[str, ...] = ()) -> UnnestInsert:
    """``INSERT INTO table (names) SELECT ... FROM unnest(...) <suffix>`` (an ``ON CONFLICT`` clause, say), with
    ``RETURNING`` the columns named (their results typed as the table's)."""
    wire = {c: Text if isinstance(table.c[c].type, (JSONB, ARRAY)) else table.c[c].type for c in names}
    sql = (f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(_select(table, c) for c in names)} "
           f"FROM unnest({', '.join(':' + c for c in names)}) AS u({', '.join(names)}) {suffix}")
    if returning:
        sql += " RETURNING " + ", ".join(returning)
    statement = text(sql).bindparams(*(bindparam(c, type_=ARRAY(t)) for c, t in wire.items()))
    if returning:
        statement = statement.columns(*(table.c[c] for c in returning))
    return UnnestInsert(Query(statement), tuple((c, _wire(table, c)) for c in names))
