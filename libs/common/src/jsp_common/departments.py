"""Departments (部门) of joint supervision, from ``data/agencies.csv``.

An *agency* is a kind of department (市场监管, 药监, 应急, ...). A *department*
is an agency at a division, coded ``"{agency}-{division6}"``: ``samr-410000``
is 河南省市场监督管理局, ``samr-410100`` 郑州市市场监督管理局. Departments exist
at province and city level only (济源 counts as a city); county divisions are
served by their city's department.

``JSP_AGENCIES_FILE`` names a CSV of the same columns that replaces the packaged list (every process of a
deployment must read the same one: the services, ``python -m jsp_common.topics create`` and ``make k8s``).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from jsp_common import divisions
from jsp_common.domains import Domain

__all__ = [
    "Agency",
    "Department",
    "UnknownDepartment",
    "agencies",
    "agency",
    "all_departments",
    "department",
    "department_code",
    "department_for",
]

_DATA_FILE = "agencies.csv"
_DATA_FILE_SETTING = "JSP_AGENCIES_FILE"
_DEPARTMENT_LEVELS = ("province", "city")
_SEPARATOR = "-"


class UnknownDepartment(ValueError):
    """No such agency or department."""


@dataclass(frozen=True)
class Agency:
    """A kind of department; ``levels`` it exists at, ``domains`` it leads or co-leads."""

    code: str
    name_province: str
    name_local_suffix: str
    levels: tuple[str, ...]
    domains: tuple[Domain, ...]

    def exists_at(self, level: str) -> bool:
        """Whether this agency has a department at ``level`` (province or city)."""
        return level in self.levels

    def name_at(self, division: divisions.Division) -> str:
        """The department's name at a province or city division, e.g. 郑州市市场监督管理局."""
        if division.level == "province":
            return self.name_province
        return division.name + self.name_local_suffix


@dataclass(frozen=True)
class Department:
    """An agency at a province or city division."""

    code: str
    agency: Agency
    division_code: str
    name: str

    @property
    def agency_code(self) -> str:
        """The agency's code, e.g. ``samr``."""
        return self.agency.code

    @property
    def division(self) -> divisions.Division:
        """The division the department serves."""
        return divisions.get(self.division_code)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


@cache
def _agencies() -> dict[str, Agency]:
    override = os.environ.get(_DATA_FILE_SETTING)
    source = open(override, encoding="utf-8", newline="") if override else \
        files("jsp_common").joinpath("data", _DATA_FILE).open(encoding="utf-8")
    with source as fh:
        rows = list(csv.DictReader(fh))
    return {
        row["code"]: Agency(
            code=row["code"],
            name_province=row["name_province"],
            name_local_suffix=row["name_local_suffix"],
            levels=_split(row["levels"]),
            domains=tuple(Domain(d) for d in _split(row["domains"])),
        )
        for row in rows
    }


def agencies() -> tuple[Agency, ...]:
    """Every agency, in data order."""
    return tuple(_agencies().values())


def agency(code: str) -> Agency:
    """The agency with this code; raise :class:`UnknownDepartment` if none."""
    try:
        return _agencies()[code.strip().lower()]
    except KeyError:
        known = ", ".join(_agencies())
        raise UnknownDepartment(f"unknown agency {code!r}; known: {known}") from None


def department_code(agency_code: str, division_code: str) -> str:
    """The department code ``"{agency}-{division6}"`` (not validated)."""
    return f"{agency_code}{_SEPARATOR}{division_code}"


def _make(agency_: Agency, division: divisions.Division) -> Department:
    return Department(
        code=department_code(agency_.code, division.code),
        agency=agency_,
        division_code=division.code,
        name=agency_.name_at(division),
    )


def department(code: str) -> Department:
    """Parse and check a department code such as ``samr-410100``; raise :class:`UnknownDepartment`."""
    agency_code, sep, division_code = code.strip().partition(_SEPARATOR)
    if not sep or not agency_code or not division_code:
        raise UnknownDepartment(f"a department code looks like 'samr-410100', got {code!r}")
    agency_ = agency(agency_code)
    try:
        division = divisions.get(division_code)
    except divisions.UnknownDivision as exc:
        raise UnknownDepartment(f"department {code!r}: {exc}") from None
    if division.level not in _DEPARTMENT_LEVELS:
        raise UnknownDepartment(
            f"department {code!r}: {division.code} {division.name} is a county; departments exist at "
            "province and city level (use department_for to resolve a county)"
        )
    if not agency_.exists_at(division.level):
        raise UnknownDepartment(
            f"department {code!r}: agency {agency_.code} exists only at {', '.join(agency_.levels)} level"
        )
    return _make(agency_, division)


def department_for(agency_code: str, division_code: str) -> Department:
    """The department of ``agency_code`` responsible for a division.

    A county resolves to its city's department (retired county codes by their
    first four digits); an agency that exists only at province level resolves
    to the province. Raise :class:`UnknownDepartment` if nothing fits.
    """
    agency_ = agency(agency_code)
    key = str(division_code).strip()
    if key == divisions.PROVINCE_CODE:
        division = divisions.get(key)
    else:
        try:
            division = divisions.city_of(key)
        except divisions.UnknownDivision as exc:
            raise UnknownDepartment(f"no {agency_.code} department for {key!r}: {exc}") from None
        if not agency_.exists_at("city"):
            division = divisions.get(divisions.PROVINCE_CODE)
    if not agency_.exists_at(division.level):
        raise UnknownDepartment(f"agency {agency_.code} has no department at {division.level} level")
    return _make(agency_, division)


def all_departments() -> tuple[Department, ...]:
    """Every department: each agency at the province and/or every city, as its levels say."""
    province = divisions.get(divisions.PROVINCE_CODE)
    result = []
    for agency_ in agencies():
        if agency_.exists_at("province"):
            result.append(_make(agency_, province))
        if agency_.exists_at("city"):
            result.extend(_make(agency_, city) for city in divisions.cities())
    return tuple(result)
