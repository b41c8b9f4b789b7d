"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

18 characters: registering authority (1), entity type (2), division code
(3–8, GB/T 2260), organisation code (9–17) and a check character (18).
Unlike ``stdnum.cn.uscc`` this accepts letters in positions 1–2 (codes issued
by authorities A, N, Y, ...); positions 3–8 must be digits. Position 1 must be a
registering authority and position 2 one of that authority's entity types, as
GB 32100-2015 lists them in ``data/uscc_authorities.csv``.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_ALPHABET_TEXT = "0-9 A-H J-N P-R T U W X Y"
_DIVISION = slice(2, 8)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_CANONICAL = frozenset(ALPHABET)
_AUTHORITIES_FILE = "uscc_authorities.csv"


class InvalidUSCC(ValueError):
    """The text is not a valid Unified Social Credit Code."""


def compact(code: str) -> str:
    """Normalise full-width characters, drop spaces and hyphens, upper-case."""
    if len(code) == LENGTH and _CANONICAL.issuperset(code):  # the usual case, checked on every event
        return code
    text = unicodedata.normalize("NFKC", code)
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


@dataclass(frozen=True)
class Authority:
    """A registering authority (登记管理部门, position 1) and the entity types (机构类别, position 2) it issues."""

    code: str
    name: str
    entity_types: dict[str, str]  # entity type code -> its name ("" where the standard names none)


@cache
def authorities() -> dict[str, Authority]:
    """The registering authorities by code, read from ``data/uscc_authorities.csv``."""
    types: dict[str, dict[str, str]] = {}
    names: dict[str, str] = {}
    with files("jsp_common").joinpath("data", _AUTHORITIES_FILE).open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            names[row["authority"]] = row["authority_name"]
            types.setdefault(row["authority"], {})[row["entity_type"]] = row["entity_type_name"]
    return {code: Authority(code, names[code], types[code]) for code in names}


def head_pattern() -> str:
    """A regular expression (no anchors) matching exactly the valid positions 1–2."""
    return "(?:" + "|".join(f"{a.code}[{''.join(a.entity_types)}]" for a in authorities().values()) + ")"


def schema_pattern() -> str:
    """What a contract's JSON Schema says of a code (the check character aside): positions 1–2 an authority and one
    of its entity types, 3–8 the division code's digits, then ten characters of the alphabet."""
    return f"^{head_pattern()}[0-9]{{6}}[{ALPHABET}]{{10}}$"


def _check_head(value: str) -> None:
    table = authorities()
    authority = table.get(value[0])
    if authority is None:
        raise InvalidUSCC(
            f"unknown registering authority {value[0]!r} at position 1 "
            f"(GB 32100-2015 authorities: {' '.join(table)})"
        )
    if value[1] not in authority.entity_types:
        raise InvalidUSCC(
            f"entity type {value[1]!r} at position 2 is not issued by registering authority {authority.code!r} "
            f"({authority.name}; its types: {' '.join(authority.entity_types)})"
        )


def _checksum(body: str) -> str:
    total = sum(_VALUE[ch] * weight for ch, weight in zip(body, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def _check_alphabet(text: str) -> None:
    for position, ch in enumerate(text, start=1):
        if ch not in ALPHABET:
            raise InvalidUSCC(
                f"illegal character {ch!r} at position {position} (allowed: {_ALPHABET_TEXT})"
            )


def calc_check_char(first17: str) -> str:
    """The check character (position 18) for the first 17 characters."""
    body = compact(first17)
    if len(body) != LENGTH - 1:
        raise InvalidUSCC(f"need the first 17 characters to compute a check character, got {len(body)}")
    _check_alphabet(body)
    return _checksum(body)


def with_check_char(first17: str) -> str:
    """The full 18-character code: ``first17`` plus its check character (for test data)."""
    body = compact(first17)
    return validate(body + calc_check_char(body))


def validate(code: str) -> str:
    """The compacted code if valid, else raise :class:`InvalidUSCC` saying what is wrong."""
    value = compact(code)
    if len(value) != LENGTH:
        raise InvalidUSCC(f"a USCC has {LENGTH} characters, got {len(value)}: {value!r}")
    _check_alphabet(value)
    _check_head(value)
    for position in range(_DIVISION.start + 1, _DIVISION.stop + 1):
        if not value[position - 1].isdigit():
            raise InvalidUSCC(
                f"illegal character {value[position - 1]!r} at position {position} "
                "(positions 3-8 are the division code and must be digits)"
            )
    expected = _checksum(value[:-1])
    if value[-1] != expected:
        raise InvalidUSCC(f"wrong check character: expected {expected!r}, got {value[-1]!r}")
    return value


def is_valid(code: str) -> bool:
    """Whether ``code`` is a valid USCC."""
    try:
        validate(code)
    except InvalidUSCC:
        return False
    return True


def division_code(code: str) -> str:
    """The registering division code (positions 3–8) of a valid USCC."""
    return validate(code)[_DIVISION]
