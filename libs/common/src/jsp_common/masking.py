"""Masking (脱敏) of personal identifiers for display and logs (PIPL art. 51).

Masking never raises: it is applied to whatever was captured, valid or not.
"""

from __future__ import annotations

MASK = "*"
_SEPARATORS = " -()（）"
_COUNTRY_PREFIXES = ("+86", "0086")


def _clean(value: str) -> str:
    return "".join(ch for ch in value.strip() if ch not in _SEPARATORS)


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        # Too short to keep anything without revealing most of it.
        return MASK * len(value)
    return value[:head] + MASK * (len(value) - head - tail) + value[len(value) - tail:]


def mask_id_number(number: str) -> str:
    """Resident identity number (身份证号) with the first 6 and last 4 kept: ``410102********1234``."""
    return _keep(_clean(number).upper(), 6, 4)


def mask_phone(phone: str) -> str:
    """Phone number (电话号码): mobiles as ``138****5678``; other numbers keep only the last 4."""
    value = _clean(phone)
    for prefix in _COUNTRY_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    if len(value) == 11 and value.isdigit() and value.startswith("1"):
        return _keep(value, 3, 4)
    return _keep(value, 0, 4)


def mask_name(name: str | None) -> str | None:
    """A person's name with only the family name kept: 张三 → 张*."""
    if not name:
        return None
    return name[0] + "*" * max(len(name) - 1, 1)
