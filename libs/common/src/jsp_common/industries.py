"""Industry classification (国民经济行业分类, GB/T 4754-2017), read from ``data/industries.csv``.

Four levels: section (门类, a letter), division (大类, two digits), group (中类, three digits) and
class (小类, four digits). Market entities are registered with a class. The data lists every section
and division and the classes of the divisions marked ``classes_complete=yes`` (the key domains and
more); for those divisions an unlisted class is refused. For the other divisions any four-digit code
in the division is accepted until their classes are added to the data.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

Level = Literal["section", "division", "group", "class"]
_DATA_FILE = "industries.csv"


class UnknownIndustry(ValueError):
    """The code is not a GB/T 4754-2017 industry class."""


@dataclass(frozen=True)
class Industry:
    code: str
    name: str | None  # None for a class of a division whose classes are not listed yet
    level: Level
    parent_code: str | None

    @property
    def division_code(self) -> str | None:
        return self.code[:2] if self.level in ("division", "group", "class") else None

    @property
    def section_code(self) -> str:
        return self.code if self.level == "section" else _section_of_division()[self.code[:2]]


@cache
def _rows() -> tuple[dict[str, Industry], frozenset[str]]:
    table: dict[str, Industry] = {}
    complete: set[str] = set()
    with files("jsp_common").joinpath("data", _DATA_FILE).open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            table[row["code"]] = Industry(row["code"], row["name"], row["level"],  # type: ignore[arg-type]
                                          row["parent"] or None)
            if row["level"] == "division" and row.get("classes_complete") == "yes":
                complete.add(row["code"])
    return table, frozenset(complete)


@cache
def _section_of_division() -> dict[str, str]:
    table, _ = _rows()
    return {c: i.parent_code or "" for c, i in table.items() if i.level == "division"}


def normalise(code: str) -> str:
    """Drop spaces and an optional section-letter prefix (``F5212`` → ``5212``); upper-case letters."""
    text = str(code).strip().upper()
    if len(text) == 5 and text[0].isalpha() and text[1:].isdigit():
        return text[1:]
    return text


def get(code: str) -> Industry:
    """The section, division or class with this code; raise :class:`UnknownIndustry`."""
    key = normalise(code)
    table, _ = _rows()
    if key in table:
        return table[key]
    if len(key) == 4 and key.isdigit():
        return Industry(validate_class(key), None, "class", key[:2])
    raise UnknownIndustry(f"unknown industry code {code!r} (GB/T 4754-2017)")


def validate_class(code: str) -> str:
    """The normalised four-digit class code, or raise :class:`UnknownIndustry` saying what is wrong."""
    raw = str(code).strip().upper()
    key = normalise(raw)
    if not (len(key) == 4 and key.isdigit()):
        raise UnknownIndustry(f"an industry class is four digits (GB/T 4754-2017), got {code!r}")
    table, complete = _rows()
    division = table.get(key[:2])
    if division is None or division.level != "division":
        raise UnknownIndustry(f"unknown industry class {key!r}: there is no division {key[:2]!r} in GB/T 4754-2017")
    if len(raw) == 5 and raw[0] != division.parent_code:
        raise UnknownIndustry(f"industry class {raw!r}: division {key[:2]} is in section {division.parent_code}, "
                              f"not {raw[0]}")
    if key in table:
        return key
    if key[:2] in complete:
        raise UnknownIndustry(f"unknown industry class {key!r}: not a class of division {key[:2]} "
                              f"{division.name} (GB/T 4754-2017)")
    return key


def name_of(code: str) -> str | None:
    """The Chinese name of a class, division or section (None if the class is not listed)."""
    try:
        return get(code).name
    except UnknownIndustry:
        return None


def matches(code: str, prefixes: tuple[str, ...] | list[str]) -> bool:
    """Whether a class falls under any of ``prefixes``: section letters, divisions, groups or classes."""
    key = normalise(code)
    for p in prefixes:
        if p.isalpha():
            if _section_of_division().get(key[:2]) == p.upper():
                return True
        elif key.startswith(p):
            return True
    return False


def digit_prefixes(prefixes: tuple[str, ...] | list[str]) -> list[str]:
    """The same classes as ``prefixes`` (section letters, divisions, groups or classes) as digit prefixes
    only: a section letter becomes its divisions (for a prefix match on stored four-digit classes)."""
    out: list[str] = []
    for p in prefixes:
        if p.isalpha():
            out += sorted(d for d, section in _section_of_division().items() if section == p.upper())
        else:
            out.append(p)
    return out


def all_industries() -> tuple[Industry, ...]:
    return tuple(_rows()[0].values())


def class_code_pattern() -> str:
    """A pattern of the class codes :func:`validate_class` accepts: the known classes, and any class of a division
    whose classes the data does not list completely (digit by digit, so it stays small), each with or without its
    section's letter."""
    table, complete = _rows()
    by_section: dict[str, list[str]] = {}  # a class may carry its division's section letter ('F5212')
    for code, i in table.items():
        if i.level == "class":
            by_section.setdefault(table[code[:2]].parent_code, []).append(code)
        elif i.level == "division" and code not in complete:
            by_section.setdefault(i.parent_code, []).append(code + "**")
    return "^(?:" + "|".join(f"{section}?{digits_pattern(sorted(codes))}"
                             for section, codes in sorted(by_section.items())) + ")$"


def digits_pattern(codes: list[str]) -> str:
    """A compact regular expression matching exactly ``codes`` (digit strings of one length; ``*`` stands for
    any digit), written as a tree of their common prefixes."""
    if not codes or not codes[0]:
        return ""
    heads: dict[str, list[str]] = {}
    for c in codes:
        heads.setdefault(c[0], []).append(c[1:])
    if "*" in heads:  # any digit here covers the rest
        return "[0-9]" + digits_pattern(heads["*"])
    by_rest: dict[str, list[str]] = {}
    for head, rests in sorted(heads.items()):
        by_rest.setdefault(digits_pattern(sorted(set(rests))), []).append(head)
    parts = [(f"[{''.join(hs)}]" if len(hs) > 1 else hs[0]) + rest for rest, hs in by_rest.items()]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
