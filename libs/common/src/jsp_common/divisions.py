"""Henan administrative divisions (行政区划, GB/T 2260), read from ``data/henan_divisions.csv``.

Levels are supervision tiers: ``province`` (河南省), ``city`` (the 17
prefecture-level cities plus 济源, a province-administered county-level city
that acts as a city-level unit and has no counties) and ``county`` (districts,
counties and county-level cities). The CSV's optional ``aliases`` column lists
other names still seen in addresses: former names (偃师市, 长垣县) and
short forms (管城区 for 管城回族区).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

Level = Literal["province", "city", "county"]

PROVINCE_CODE = "410000"
_DATA_FILE = "henan_divisions.csv"
_LEVEL_RANK = {"province": 0, "city": 1, "county": 2}
# Suffixes that may be dropped to get a short name (郑州市 -> 郑州). Districts (区)
# keep their full name: their short forms (中原, 解放, 红旗) are common road names.
_SHORTENABLE_SUFFIXES = ("省", "市", "县")
_MIN_SHORT_NAME = 2
# A short name followed by one of these names a road or bridge (南阳路, 解放桥), not a place.
_ROAD_SUFFIXES = ("路", "街", "大道", "巷", "胡同", "桥")
# A short name preceded by one of these starts a new address part (河南省郑州...).
_PART_BOUNDARY = "省市县区"


class UnknownDivision(KeyError, ValueError):
    """The code is not a current Henan division."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Division:
    """One administrative division; ``parent_code`` is ``None`` for the province."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    aliases: tuple[str, ...] = ()


@cache
def _table() -> dict[str, Division]:
    with files("jsp_common").joinpath("data", _DATA_FILE).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {
        row["code"]: Division(
            code=row["code"],
            name=row["name"],
            level=row["level"],  # type: ignore[arg-type]
            parent_code=row["parent_code"] or None,
            aliases=tuple(a for a in (row.get("aliases") or "").split(";") if a),
        )
        for row in rows
    }


def all_divisions() -> tuple[Division, ...]:
    """Every division, province first, in code order."""
    return tuple(_table().values())


def get(code: str) -> Division:
    """The division with this six-digit code; raise :class:`UnknownDivision` if none."""
    key = str(code).strip()
    try:
        return _table()[key]
    except KeyError:
        raise UnknownDivision(
            f"unknown division code {key!r}: not a current Henan division (GB/T 2260, six digits)"
        ) from None


def is_henan(code: str) -> bool:
    """Whether ``code`` is a six-digit code in Henan's range (41xxxx), retired codes included."""
    return re.fullmatch(r"41\d{4}", str(code).strip()) is not None


def cities() -> tuple[Division, ...]:
    """The 17 prefecture-level cities and 济源."""
    return tuple(d for d in _table().values() if d.level == "city")


def children(code: str) -> tuple[Division, ...]:
    """The divisions directly under ``code`` (the cities of the province, the counties of a city)."""
    parent = get(code).code
    return tuple(d for d in _table().values() if d.parent_code == parent)


def city_of(code: str) -> Division:
    """The city-level unit a division belongs to (itself for a city or 济源).

    Codes not in the current table but in Henan's range (e.g. a retired county
    code still carried by an older USCC) resolve by their first four digits.
    Raise ``ValueError`` for the province and :class:`UnknownDivision` otherwise.
    """
    key = str(code).strip()
    table = _table()
    division = table.get(key)
    if division is None and is_henan(key):
        division = table.get(key[:4] + "00")
        if division is None or division.level != "city":
            raise UnknownDivision(f"division code {key!r} is in no known Henan city")
    if division is None:
        raise UnknownDivision(f"unknown division code {key!r}: not a Henan division")
    if division.level == "province":
        raise ValueError(f"{division.code} {division.name} is the province, not part of a city")
    return division if division.level == "city" else table[division.parent_code or ""]


def city_code(code: str | None) -> str | None:
    """The code of the city-level unit ``code`` belongs to; None for the province, an unknown or no code."""
    if not code:
        return None
    try:
        return city_of(code).code
    except ValueError:  # the province, or UnknownDivision
        return None


# --- finding a division in an address -------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    text: str
    division: Division
    exact: bool  # a full name or alias, as opposed to a short name


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    pattern: _Pattern


def _short_name(division: Division) -> str | None:
    for suffix in _SHORTENABLE_SUFFIXES:
        if division.name.endswith(suffix) and len(division.name) - len(suffix) >= _MIN_SHORT_NAME:
            return division.name[: -len(suffix)]
    return None


@cache
def _patterns() -> tuple[_Pattern, ...]:
    """Full names, aliases and unambiguous short names, longest first."""
    divisions = all_divisions()
    exact = [_Pattern(n, d, True) for d in divisions for n in (d.name, *d.aliases)]
    exact_texts = {p.text for p in exact}
    by_short: dict[str, list[Division]] = {}
    for d in divisions:
        short = _short_name(d)
        if short and short not in exact_texts:
            by_short.setdefault(short, []).append(d)
    short_patterns = []
    for short, owners in by_short.items():
        # 安阳 is both 安阳市 and 安阳县: a bare short name means the higher level.
        top = min(_LEVEL_RANK[d.level] for d in owners)
        winners = [d for d in owners if _LEVEL_RANK[d.level] == top]
        if len(winners) == 1:
            short_patterns.append(_Pattern(short, winners[0], False))
    return tuple(sorted(exact + short_patterns, key=lambda p: -len(p.text)))


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _short_hit_ok(text: str, hit: _Hit, starts: set[int], ends: set[int]) -> bool:
    """A short name counts only as a whole address part, not inside a word (未开封) or a road name."""
    if text.startswith(_ROAD_SUFFIXES, hit.end):
        return False
    if hit.start == 0 or hit.start in ends or hit.end in starts:
        return True
    before = text[hit.start - 1]
    return not _is_cjk(before) or before in _PART_BOUNDARY


@cache
def _patterns_by_first_char() -> dict[str, tuple[tuple[int, _Pattern], ...]]:
    """The patterns by their first character, each with its place in :func:`_patterns`."""
    out: dict[str, list[tuple[int, _Pattern]]] = {}
    for k, pattern in enumerate(_patterns()):
        out.setdefault(pattern.text[0], []).append((k, pattern))
    return {ch: tuple(ps) for ch, ps in out.items()}


def _hits(text: str) -> list[_Hit]:
    # Only patterns whose first character is in the text can occur there; taken in _patterns() order.
    by_first = _patterns_by_first_char()
    candidates = sorted(p for ch in set(text) for p in by_first.get(ch, ()))
    found = []
    for _, pattern in candidates:
        start = text.find(pattern.text)
        while start >= 0:
            found.append(_Hit(start, start + len(pattern.text), pattern))
            start = text.find(pattern.text, start + 1)
    # Drop hits inside a longer one (安阳 inside 安阳县).
    return [
        h
        for h in found
        if not any(
            o.start <= h.start and h.end <= o.end and o.end - o.start > h.end - h.start for o in found
        )
    ]


def find_in_text(address: str) -> Division | None:
    """The most specific Henan division named in a Chinese address, or ``None``.

    Full names and aliases match anywhere; short names (郑州, 巩义) only as a
    whole address part and never before 路/街/桥 (南阳路 is a Zhengzhou road).
    District short names are not used. When a city is named, only counties of
    a named city count; among counties a full name beats a short name, then
    the first one wins. A province or city outside Henan named just before
    the match (江苏省南京市鼓楼区) gives ``None``.
    E.g. "河南省郑州市金水区花园路8号" → 410105.
    """
    text = unicodedata.normalize("NFKC", address)
    hits = _hits(text)
    starts = {h.start for h in hits}
    ends = {h.end for h in hits}
    hits = [h for h in hits if h.pattern.exact or _short_hit_ok(text, h, starts, ends)]
    named_cities = {h.pattern.division.code for h in hits if h.pattern.division.level == "city"}
    counties = [
        h
        for h in hits
        if h.pattern.division.level == "county"
        and (not named_cities or h.pattern.division.parent_code in named_cities)
    ]
    best = None
    if counties:
        best = min(counties, key=lambda h: (not h.pattern.exact, h.start))
    else:
        for level in ("city", "province"):
            at_level = [h for h in hits if h.pattern.division.level == level]
            if at_level:
                best = min(at_level, key=lambda h: h.start)
                break
    if best is None or _elsewhere(text, best, hits):
        return None
    return best.pattern.division


def _elsewhere(text: str, best: _Hit, hits: list[_Hit]) -> bool:
    """Whether another province or city is named right before ``best`` (南京市鼓楼区 is not Henan's)."""
    covered = {i for h in hits for i in range(h.start, h.end)}
    prefix = text[: best.start]
    if "自治区" in prefix:
        return True
    for i, ch in enumerate(prefix):
        if ch == "省" and i > 0 and _is_cjk(prefix[i - 1]) and i not in covered:
            return True
    return best.start > 0 and prefix[-1] == "市" and best.start - 1 not in covered
