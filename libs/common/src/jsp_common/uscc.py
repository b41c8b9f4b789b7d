"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

18 characters: registering authority (1), entity type (2), division code
(3–8, GB/T 2260), organisation code (9–17) and a check character (18).
Unlike ``stdnum.cn.uscc`` this accepts letters in positions 1–2 (codes issued
by authorities A, N, Y, ...); positions 3–8 must be digits.
"""

from __future__ import annotations

import unicodedata

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_ALPHABET_TEXT = "0-9 A-H J-N P-R T U W X Y"
_DIVISION = slice(2, 8)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_CANONICAL = frozenset(ALPHABET)


class InvalidUSCC(ValueError):
    """The text is not a valid Unified Social Credit Code."""


def compact(code: str) -> str:
    """Normalise full-width characters, drop spaces and hyphens, upper-case."""
    if len(code) == LENGTH and _CANONICAL.issuperset(code):  # the usual case, checked on every event
        return code
    text = unicodedata.normalize("NFKC", code)
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


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
