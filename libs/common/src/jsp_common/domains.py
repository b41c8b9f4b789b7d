"""Key supervision domains (重点领域) of comprehensive supervision.

Members are fixed in code so they can be referenced statically; their Chinese
names are data in ``data/domains.csv``, read on first use.
"""

from __future__ import annotations

import csv
from enum import StrEnum
from functools import cache
from importlib.resources import files

_DATA_FILE = "domains.csv"


@cache
def _zh_names() -> dict[str, str]:
    with files("jsp_common").joinpath("data", _DATA_FILE).open(encoding="utf-8") as fh:
        return {row["code"]: row["name_zh"] for row in csv.DictReader(fh)}


class Domain(StrEnum):
    """A key domain; the value is its ASCII code, ``.zh`` its Chinese name."""

    FOOD = "food"
    DRUGS = "drugs"
    MEDICAL_DEVICES = "medical_devices"
    HAZARDOUS_CHEMICALS = "hazardous_chemicals"
    GAS = "gas"
    SPECIAL_EQUIPMENT = "special_equipment"
    CONSTRUCTION = "construction"
    ILLEGAL_FINANCE = "illegal_finance"
    OTHER = "other"

    @property
    def zh(self) -> str:
        """The Chinese name, e.g. 食品."""
        return _zh_names()[self.value]


DOMAINS: tuple[Domain, ...] = tuple(Domain)


def domain(value: str) -> Domain:
    """The domain for an ASCII code or a Chinese name; raise ``ValueError`` if unknown."""
    text = value.strip()
    for member in Domain:
        if text in (member.value, member.zh):
            return member
    known = ", ".join(f"{m.value} ({m.zh})" for m in Domain)
    raise ValueError(f"unknown domain {value!r}; known: {known}")
