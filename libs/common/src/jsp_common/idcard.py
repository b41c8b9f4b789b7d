"""Resident identity number (居民身份证号码, GB 11643), validated with ``stdnum.cn.ric``.

Only the 18-digit form is accepted. Beyond the check digit, the birth date
must exist and the first six digits must be a division code in use in the
birth year. Masking lives in :mod:`jsp_common.masking`.
"""

from __future__ import annotations

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

LENGTH = 18


class InvalidIDNumber(ValueError):
    """The text is not a valid resident identity number."""


def compact(number: str) -> str:
    """Drop spaces and hyphens, upper-case a final ``x``."""
    return ric.compact(number)


def validate(number: str) -> str:
    """The compacted number if valid, else raise :class:`InvalidIDNumber` saying what is wrong."""
    value = compact(number)
    if len(value) != LENGTH:
        raise InvalidIDNumber(f"a resident identity number has {LENGTH} characters, got {len(value)}")
    if not value[:-1].isdigit() or not (value[-1].isdigit() or value[-1] == "X"):
        raise InvalidIDNumber("a resident identity number is 17 digits followed by a digit or X")
    expected = ric.calc_check_digit(value)
    if value[-1] != expected:
        raise InvalidIDNumber(f"wrong check digit: expected {expected!r}, got {value[-1]!r}")
    try:
        ric.get_birth_date(value)
    except ValidationError as exc:
        raise InvalidIDNumber(f"birth date {value[6:14]} does not exist") from exc
    try:
        ric.get_birth_place(value)
    except ValidationError as exc:
        raise InvalidIDNumber(
            f"division code {value[:6]} was not in use in birth year {value[6:10]}"
        ) from exc
    return value


def is_valid(number: str) -> bool:
    """Whether ``number`` is a valid 18-digit resident identity number."""
    try:
        validate(number)
    except InvalidIDNumber:
        return False
    return True
