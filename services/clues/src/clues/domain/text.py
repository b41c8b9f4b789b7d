"""Text similarity for Chinese names and free text: character bigrams and the Dice coefficient."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

from jsp_common import divisions

# Legal-form suffixes that say nothing about which business it is.
_NAME_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "集团", "公司", "个体工商户")
# What is not a letter or digit: re's \w is str.isalnum() plus the underscore (checked for every code point).
_NOT_ALNUM = re.compile(r"[\W_]+")
# A new clue is compared with up to 50 candidates, and a poll's clues of one place with the same ones: texts
# recur, so their bigrams and name cores are kept for the last few thousand (a few MB at most).
_RECENT = 2048


def normalize(text: str) -> str:
    """NFKC, only letters and digits (CJK included), upper-case."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text or "")).upper()


@lru_cache(maxsize=_RECENT)
def bigrams(text: str) -> frozenset[str]:
    t = normalize(text)
    if len(t) < 2:
        return frozenset((t,)) if t else frozenset()
    return frozenset(t[i:i + 2] for i in range(len(t) - 1))


def dice(a: str, b: str) -> float:
    """Dice coefficient of the character bigrams (0..1)."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


@cache
def _place_names() -> tuple[str, ...]:
    names: set[str] = set()
    for d in divisions.all_divisions():
        for n in (d.name, *d.aliases):
            names.add(n)
            if len(n) > 2 and n[-1] in "省市县":
                names.add(n[:-1])
    return tuple(sorted(names, key=len, reverse=True))


@cache
def _place_names_by_first_char() -> dict[str, tuple[str, ...]]:
    """The place names by their first character, each list in :func:`_place_names`' order (longest first)."""
    out: dict[str, list[str]] = {}
    for n in _place_names():
        out.setdefault(n[0], []).append(n)
    return {c: tuple(ns) for c, ns in out.items()}


@lru_cache(maxsize=_RECENT)
def name_core(name: str) -> str:
    """A business name without place names and legal-form suffixes: 郑州好味道餐饮有限公司 → 好味道餐饮."""
    t = normalize(name)
    for suffix in _NAME_SUFFIXES:
        if t.endswith(suffix) and len(t) > len(suffix) + 1:
            t = t[: -len(suffix)]
            break
    places = _place_names_by_first_char()
    changed = True
    while changed and t:
        changed = False
        for place in places.get(t[0], ()):
            if t.startswith(place) and len(t) > len(place) + 1:
                t, changed = t[len(place):], True
                break
    return t


# One name's core inside the other's (at least this long) makes them this alike, whatever their bigrams say.
CONTAINED_MIN_CHARS = 3
CONTAINED_SIMILARITY = 0.9


def name_similarity(a: str, b: str) -> float:
    """How alike two business names are (0..1), ignoring place names and legal forms."""
    ca, cb = name_core(a), name_core(b)
    if not ca or not cb:
        return 0.0
    if ca == cb:
        return 1.0
    score = dice(ca, cb)
    shorter, longer = sorted((ca, cb), key=len)
    if len(shorter) >= CONTAINED_MIN_CHARS and shorter in longer:
        score = max(score, CONTAINED_SIMILARITY)
    return score


def confidence(names_alike: float, addresses_alike: float | None) -> float:
    """A match's confidence from how alike the names are and, when both sides have one, the addresses
    (None: not both): the name weighs most."""
    if addresses_alike is not None:
        return round(0.8 * names_alike + 0.2 * addresses_alike, 3)
    return round(0.9 * names_alike, 3)


def match_confidence(name: str, address: str | None, cand_name: str, cand_address: str | None) -> float:
    """Confidence that a clue's business (name, address) is a directory entity."""
    return confidence(name_similarity(name, cand_name),
                      dice(address, cand_address) if address and cand_address else None)


def best_match(name: str, address: str | None,
               candidates: Sequence[tuple[str, str | None]]) -> tuple[int | None, float]:
    """Which of the (name, address) ``candidates`` a business most likely is: the index of the first with the
    highest :func:`match_confidence` (None when none scores above 0), and that confidence. A candidate whose
    name leaves it no better than the best so far even with the very same address is not compared by address
    (most of a look-up's 50 are not: half the scoring's cost)."""
    best, best_score = None, 0.0
    for k, (cand_name, cand_address) in enumerate(candidates):
        names_alike = name_similarity(name, cand_name)
        both = bool(address and cand_address)
        if confidence(names_alike, 1.0 if both else None) <= best_score:
            continue
        score = confidence(names_alike, dice(address, cand_address) if both else None)
        if score > best_score:
            best, best_score = k, score
    return best, best_score


def search_grams(name: str) -> list[str]:
    """The bigrams of a name's core, as stored for index look-ups."""
    return sorted(bigrams(name_core(name)))
