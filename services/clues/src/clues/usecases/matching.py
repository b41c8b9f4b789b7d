"""Matching a clue's business by name and place when it gives no USCC: candidates from the registry replica
sharing the name's distinctive pieces in its city, scored against the name and address."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import divisions

from ..adapters import directory
from ..deps import Deps
from ..domain import name_lookup
from ..domain.text import best_match, search_grams


async def match_by_name(deps: Deps, session: AsyncSession,
                        wanted: list[tuple[str | None, str | None, str | None]]) -> list[tuple[dict | None, str | None, float | None]]:
    """The directory entity each clue without a USCC is about, by its (business name, address, division code):
    the best-scoring of the candidates sharing most of the name's bigrams in its city, with the confidence, if it
    reaches ``match_min_confidence``. The candidates are first looked up by the names' distinctive pieces, then,
    for the names that look does not settle, by all of them (domain/name_lookup.py); each look in one statement
    for all the names."""
    s = deps.settings
    matches: list[tuple[dict | None, str | None, float | None]] = [(None, None, None)] * len(wanted)
    named = [i for i, (name, _, _) in enumerate(wanted) if name and search_grams(name)]
    if not named:
        return matches
    shares = await deps.name_gram_shares.get(session)
    lookups = {i: name_lookup.plan(wanted[i][0] or "", has_address=bool(wanted[i][1]), shares=shares,
                                   common_share=s.match_common_share) for i in named}
    best: dict[int, tuple[dict | None, float]] = {}  # per name looked up: its best candidate, the confidence

    async def look(which: list[int], pieces: Callable[[name_lookup.Lookup], list[str]]) -> None:
        looks = [(pieces(lookups[i]), lookups[i].pieces, divisions.city_code(wanted[i][2])) for i in which]
        for i, candidates in zip(which, await directory.entity_candidates(session, looks, limit=s.match_candidates)):
            best[i] = _best(wanted[i], candidates)

    await look(named, lambda lookup: lookup.first)
    await look([i for i in named if not lookups[i].enough(best[i][1], s.match_min_confidence)],
               lambda lookup: lookup.pieces)
    for i, (entity, score) in best.items():
        if entity is not None and score >= s.match_min_confidence:
            matches[i] = (entity, "name_place", score)
    return matches


def _best(wanted: tuple[str | None, str | None, str | None], candidates: list[dict]) -> tuple[dict | None, float]:
    """The best-scoring candidate (the first of equals) and its confidence."""
    name, address, _ = wanted
    k, score = best_match(name or "", address, [(c["name"], c["address"]) for c in candidates])
    return (candidates[k] if k is not None else None), score
