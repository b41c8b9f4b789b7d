"""The registry's directory as the clues service reads it: its replica (kept from ``registry.entities.v1`` by
``jsp_common.replica``), by USCC and by name."""

from __future__ import annotations

from sqlalchemy import Integer, text
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import replica
from jsp_common.db import dicts
from jsp_common.unnest import SEP

from .tables import entities


async def entity(session: AsyncSession, uscc: str) -> dict | None:
    return await replica.entity(session, entities, uscc)


async def entities_by_uscc(session: AsyncSession, usccs: list[str]) -> dict[str, dict]:
    return await replica.entities(session, entities, usccs)


# The columns a candidate is read with: the entity, not its name's bigrams (an array of a dozen, for each of up to
# 50 candidates per clue, which only the statement itself needs).
_COLUMNS = [c for c in entities.c if c.name != "name_grams"]

# For each asked (the pieces a candidate must hold one of and all the name's pieces, each joined by SEP; its city
# or NULL), the entities of that city holding one of the first and sharing most of the second.
_CANDIDATES = text(f"""
SELECT q.i, e.* FROM unnest(CAST(:i AS int[]), CAST(:first AS text[]), CAST(:grams AS text[]), CAST(:city AS text[]))
  AS q(i, first, grams, city)
CROSS JOIN LATERAL (
  SELECT {", ".join(f"r.{c.name}" for c in _COLUMNS)} FROM replica_entities r
  WHERE r.name_grams && string_to_array(q.first, chr(31)) AND (q.city IS NULL OR r.city_code = q.city)
  ORDER BY (SELECT count(*) FROM unnest(r.name_grams) g WHERE g = ANY(string_to_array(q.grams, chr(31)))) DESC
  LIMIT :limit) e""").columns(i=Integer, **{c.name: c.type for c in _COLUMNS})  # typed by name, as select() would


async def entity_candidates(session: AsyncSession, names: list[tuple[list[str], list[str], str | None]], *,
                            limit: int) -> list[list[dict]]:
    """For each (pieces a candidate must hold one of, all the name's pieces, a city code or None): the entities
    (of that city) holding one of the first and sharing most of the second, at most ``limit``; all in one
    statement."""
    found: list[list[dict]] = [[] for _ in names]
    if names:
        rows = await session.execute(_CANDIDATES, {"i": list(range(len(names))),
                                                   "first": [SEP.join(first) for first, _, _ in names],
                                                   "grams": [SEP.join(grams) for _, grams, _ in names],
                                                   "city": [city for _, _, city in names], "limit": limit})
        for r in dicts(rows):
            found[r.pop("i")].append(r)
    return found


_GRAM_SHARES = text("""
SELECT most_common_elems::text::text[] AS pieces, most_common_elem_freqs AS shares
FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'replica_entities' AND attname = 'name_grams'""")


async def name_gram_shares(session: AsyncSession) -> dict[str, float]:
    """The share of the replica's entities holding each of the commonest name pieces, from the planner's
    statistics (empty before the replica was first analysed)."""
    row = (await session.execute(_GRAM_SHARES)).first()
    return dict(zip(row.pieces, row.shares)) if row is not None and row.pieces else {}
