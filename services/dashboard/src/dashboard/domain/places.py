"""Where things are, and what they are: cities of Henan, departments, industries and key domains by name."""

from __future__ import annotations

from functools import cache

from jsp_common import departments, divisions, industries
from jsp_common.domains import Domain

PROVINCE = "410000"


def city_of(division_code: str | None) -> str | None:
    """The city (or 济源) a division lies in; None for the province itself or an unknown code."""
    return divisions.city_code(division_code)


@cache
def cities() -> tuple[tuple[str, str], ...]:
    """The 18 city-level divisions of Henan, (code, name), in code order."""
    return tuple((c.code, c.name) for c in divisions.cities())


@cache
def city_name(code: str | None) -> str:
    if not code:
        return "省级/未知"
    try:
        return divisions.get(code).name
    except (divisions.UnknownDivision, ValueError):
        return code


@cache
def department_name(code: str | None) -> str:
    if not code:
        return "—"
    try:
        return departments.department(code).name
    except departments.UnknownDepartment:
        return code


def department_city(code: str) -> str | None:
    """The city a department serves (None for a provincial department)."""
    division = code.rsplit("-", 1)[-1]
    return None if division == PROVINCE else city_of(division)


@cache
def all_departments() -> tuple[tuple[str, str], ...]:
    return tuple((d.code, d.name) for d in departments.all_departments())


@cache
def industry_name(code: str | None) -> str:
    """An industry class as the office reads it: its code and name (``6210 正餐服务``), or, for a class the
    data does not name yet, its code and its division's name (``5132（批发业）``)."""
    if not code:
        return "—"
    try:
        found = industries.get(code)
        if found.name:
            return f"{found.code} {found.name}"
        return f"{found.code}（{industries.get(found.code[:2]).name}）"
    except industries.UnknownIndustry:
        return code


def domain_name(code: str | None) -> str:
    """A key domain in Chinese (its code when it is none of them)."""
    try:
        return Domain(code).zh
    except ValueError:
        return code or ""
