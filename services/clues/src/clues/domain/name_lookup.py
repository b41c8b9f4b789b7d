"""Which of a business name's pieces its candidates are looked up by first, and when that first look is enough.

A name is matched among the directory entities of its city sharing its bigrams (``text.search_grams``). A piece
that a large share of the directory holds (餐饮, 商贸, 科技) brings tens of thousands of rows to score and tells
little; the distinctive pieces (the brand) bring a few. So the candidates are first looked up by the name's pieces
that are not common. An entity holding none of those shares at most the common pieces, which bounds how well it
can score (:attr:`Lookup.ceiling`, from ``text.confidence``): when the best candidate of the first look reaches
that bound, no entity left out could beat it, and the first look's answer is the answer. Otherwise (the business
is not in the directory, or only under a rather different name) the candidates are looked up again by every piece.
The result is the one the look-up by every piece gives; only its cost differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .text import CONTAINED_MIN_CHARS, CONTAINED_SIMILARITY, confidence, name_core, search_grams


@dataclass(frozen=True)
class Lookup:
    first: list[str]  # a first look's candidates hold at least one of these pieces
    pieces: list[str]  # all the name's pieces (its candidates are ranked by how many they share)
    ceiling: float     # the most an entity holding none of ``first`` can score (0: none left out)

    def enough(self, best: float, min_confidence: float) -> bool:
        """Whether the first look, whose best candidate scored ``best``, settles the match: no entity it left
        out could score more, or reach ``min_confidence``."""
        return best >= self.ceiling or self.ceiling < min_confidence


def plan(name: str, *, has_address: bool, shares: Mapping[str, float], common_share: float) -> Lookup:
    """How to look up the candidates of ``name``: first by its pieces held by less than ``common_share`` of the
    directory (``shares``: a piece's share, for the commonest; the others are rare), at least one piece."""
    pieces = search_grams(name)
    common = sorted((p for p in pieces if shares.get(p, 0.0) >= common_share), key=lambda p: (-shares[p], p))
    left_out = set(common[:len(pieces) - 1])
    if not left_out:
        return Lookup(first=pieces, pieces=pieces, ceiling=0.0)
    return Lookup(first=[p for p in pieces if p not in left_out], pieces=pieces,
                  ceiling=_ceiling(name_core(name), len(pieces), left_out, has_address))


def _ceiling(core: str, n: int, left_out: set[str], has_address: bool) -> float:
    """The best confidence of an entity whose name shares no piece of ``core`` outside ``left_out``. Its
    bigrams in common are among ``left_out`` (e of the name's n): Dice at most 2e / (n + e). Its core cannot
    contain the name's (that holds every piece); it can be inside the name's only as a run of consecutive
    pieces, all left out, at least CONTAINED_MIN_CHARS long."""
    e = len(left_out)
    similarity = 2 * e / (n + e)
    run = longest = 0
    for i in range(len(core) - 1):
        run = run + 1 if core[i:i + 2] in left_out else 0
        longest = max(longest, run)
    if longest >= CONTAINED_MIN_CHARS - 1:
        similarity = max(similarity, CONTAINED_SIMILARITY)
    return confidence(similarity, 1.0 if has_address else None)
