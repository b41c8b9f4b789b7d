"""The registry's directory as the clues service reads it: its replica (kept from ``registry.entities.v1`` by
``jsp_common.replica``), by USCC and by name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import divisions, replica
from jsp_common.db import driver_connection, element_shares
from jsp_common.unnest import SEP

from ..domain.text import search_grams
from .tables import entities


async def entity(session: AsyncSession, uscc: str) -> dict | None:
    return await replica.entity(session, entities, uscc)


async def entities_by_uscc(session: AsyncSession, usccs: list[str]) -> dict[str, dict]:
    return await replica.entities(session, entities, usccs)


NO_CITY = "-"  # the key of an entity without a city


def place_keys(city_code: str | None, grams: list[str]) -> list[str]:
    """Name bigrams keyed by a city ('410100:餐饮'), as the replica's index holds them: a look-up reads the city's
    entities holding a bigram, not the province's."""
    return [f"{city_code or NO_CITY}:{g}" for g in grams]


def name_columns(name: str, city_code: str | None) -> dict[str, list[str]]:
    """A replica row's columns for matching by name: its name's bigrams, and the same keyed by its city."""
    grams = search_grams(name)
    return {"name_grams": grams, "place_grams": place_keys(city_code, grams)}


def _keys(city_code: str | None, grams: list[str]) -> list[str]:
    """The index keys of ``grams`` in the city, or in every city (and none) when it is unknown."""
    if city_code is not None:
        return place_keys(city_code, grams)
    return [k for c in (*(d.code for d in divisions.cities()), None) for k in place_keys(c, grams)]


# The columns a candidate is read with: the entity, not its name's bigrams (arrays of a dozen, for each of up to 50
# candidates per clue, which only the statement itself needs).
_COLUMNS = [c for c in entities.c if c.name not in ("name_grams", "place_grams")]

# For each asked (the index keys a candidate must hold one of and all the name's bigrams, each joined by SEP), the
# entities holding one of the first and sharing most of the second. Run by asyncpg (up to 50 candidates for each of
# a poll's names: thousands of rows, whose records need none of SQLAlchemy's result processing). Each name's arrays
# are split once (OFFSET 0 keeps the planner from inlining the split into every candidate row's tests, which took a
# third of the statement's time).
_CANDIDATES = f"""
SELECT a.i, e.* FROM (
  SELECT q.i, string_to_array(q.keys, chr(31)) AS keys, string_to_array(q.grams, chr(31)) AS grams
  FROM unnest($1::int[], $2::text[], $3::text[]) AS q(i, keys, grams) OFFSET 0) a
CROSS JOIN LATERAL (
  SELECT {", ".join(f"r.{c.name}" for c in _COLUMNS)} FROM replica_entities r
  WHERE r.place_grams && a.keys
  ORDER BY (SELECT count(*) FROM unnest(r.name_grams) g WHERE g = ANY(a.grams)) DESC
  LIMIT $4) e"""


async def entity_candidates(session: AsyncSession, names: list[tuple[list[str], list[str], str | None]], *,
                            limit: int) -> list[list[dict]]:
    """For each (bigrams a candidate must hold one of, all the name's bigrams, a city code or None): the entities
    of that city (of any, for None) holding one of the first and sharing most of the second, at most ``limit``;
    all in one statement."""
    found: list[list[dict]] = [[] for _ in names]
    if names:
        pg = await driver_connection(session)
        # Always through the index: while the replica is filling (a new deployment, a replay, the first minutes
        # of the Henan day bench) its statistics still say it is tiny and the planner reads all of it for each
        # name, ten times the index's cost at 5,000 entities and far more at millions. Set for this statement only.
        # (A failed statement ends the transaction, and the setting with it.)
        await pg.execute("SET LOCAL enable_seqscan = off")
        rows = await pg.fetch(_CANDIDATES, list(range(len(names))),
                              [SEP.join(_keys(city, first)) for first, _, city in names],
                              [SEP.join(grams) for _, grams, _ in names], limit)
        await pg.execute("SET LOCAL enable_seqscan TO DEFAULT")
        for r in rows:
            row = dict(r)
            found[row.pop("i")].append(row)
    return found


async def name_gram_shares(session: AsyncSession) -> dict[str, float]:
    """The share of the replica's entities holding each of the commonest name pieces, from the planner's
    statistics (empty before the replica was first analysed)."""
    return await element_shares(session, entities.name, "name_grams")
