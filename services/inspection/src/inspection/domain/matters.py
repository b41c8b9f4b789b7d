"""The key supervision matters list (重点事项清单): matters of the province and of each city, published in
numbered batches ("mature one batch, publish one batch", 成熟一批、发布一批).

A matter (code) has versions with effective dates: a change is a new version from a date on, never a
rewrite, and a plan keeps the version it was made under. A city's matter can be promoted to the province
list (a province version that names the city matter it came from). Each matter has a lead department,
cooperating departments and inspection items, each item owned by one of those departments, all of them of the
matter's list: a city's departments on that city's list, the provincial departments on the province's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from jsp_common import departments, divisions
from jsp_common.domains import Domain

PROVINCE = divisions.PROVINCE_CODE
KINDS = ("key", "general")   # key matters: no cap on the ratio; general ones: capped (setting)
# The most matters one batch publishes, as JSON or as a file: a load locks each of its matter codes until it
# commits, and PostgreSQL's lock table is shared by every session (80,000 rows overflowed it).
MAX_BATCH_ROWS = 2000


@dataclass(frozen=True)
class Item:
    code: str
    department: str
    title: str


@dataclass(frozen=True)
class MatterVersion:
    code: str
    version: int
    name: str
    domain: str
    division_code: str          # 410000 (province list) or a city's code
    kind: str
    lead_department: str
    cooperating_departments: tuple[str, ...]
    legal_basis: str
    items: tuple[Item, ...]
    batch_no: int
    effective_from: date
    promoted_from: str | None = None

    @property
    def departments(self) -> tuple[str, ...]:
        return (self.lead_department, *self.cooperating_departments)

    def items_of(self, department: str) -> tuple[str, ...]:
        """Item codes a department carries out: its own, or (a city department under a province matter)
        those of the same agency."""
        agency = department.split("-", 1)[0]
        return tuple(i.code for i in self.items if i.department == department
                     or i.department.split("-", 1)[0] == agency)


def check(fields: Mapping[str, Any]) -> list[dict[str, str]]:
    """Field-level errors of a matter's particulars (empty: good)."""
    errors: list[dict[str, str]] = []

    def err(field: str, reason: str) -> None:
        errors.append({"field": field, "reason": reason})

    def known(field: str, code: str) -> None:
        try:
            dept = departments.department(code)
        except (departments.UnknownDepartment, ValueError):
            err(field, f"unknown department {code!r} (the list: GET /public/departments)")
            return
        if level is not None:
            reason = not_of_list(dept, divisions.get(division))
            if reason:
                err(field, reason)

    try:
        Domain(fields.get("domain"))
    except ValueError:
        err("domain", f"unknown domain {fields.get('domain')!r}; one of {', '.join(d.value for d in Domain)}")
    division = fields.get("division_code") or ""
    try:
        level = divisions.get(division).level
    except divisions.UnknownDivision:
        level = None
    if level not in ("province", "city"):
        err("division_code", f"{division!r} is neither the province (410000) nor a Henan city")
        level = None
    if fields.get("kind") not in KINDS:
        err("kind", "key or general")
    lead = fields.get("lead_department") or ""
    known("lead_department", lead)
    co = list(fields.get("cooperating_departments") or [])
    for n, code in enumerate(co):
        known(f"cooperating_departments[{n}]", code)
    if lead in co:
        err("cooperating_departments", "the lead department is not also a cooperating one")
    owners = {lead, *co}
    items = list(fields.get("items") or [])
    if not items:
        err("items", "a matter has at least one inspection item")
    seen = set()
    for n, item in enumerate(items):
        if item.get("department") not in owners:
            err(f"items[{n}].department", f"{item.get('department')!r} is neither the lead nor a cooperating "
                                         "department of the matter")
        if item.get("code") in seen:
            err(f"items[{n}].code", f"item {item.get('code')!r} appears twice")
        seen.add(item.get("code"))
    return errors


def not_of_list(dept: departments.Department, division: divisions.Division) -> str | None:
    """Why ``dept`` cannot take part in a matter of ``division``'s list, or None. A city's list is the matters the
    city carries out itself (本地自行实施): its lead, cooperating departments and item owners are that city's
    departments; a provincial department guides and coordinates, and a matter that needs it (a province-only
    agency's, say) is the province's, where a city's department carries out its agency's items. The province's
    list names the provincial departments (省级行业主管部门)."""
    if dept.division_code == division.code:
        return None
    if division.level == "province":
        return (f"{dept.code} ({dept.name}) is a city's department: a matter on the province list names the "
                f"province's departments ({departments.department_code(dept.agency_code, division.code)}); a "
                "city's department carries out its agency's items of it")
    where = f"{division.name} ({division.code})"
    if dept.agency.exists_at("city"):
        own = f" ({dept.agency_code}'s here: {departments.department_code(dept.agency_code, division.code)})"
    else:
        own = f"; agency {dept.agency_code} has no city department: a matter that needs it is on the province list"
    return (f"{dept.code} ({dept.name}) is not a department of {where}: a matter on a city's list is carried out by "
            f"that city's own departments{own}")


def next_version(current: MatterVersion | None, effective_from: date, *, today: date) -> tuple[int, list[dict]]:
    """The number of a new version effective from ``effective_from``, published ``today`` (the province's
    date), or why not, each reason marked a ``conflict`` (with what is published, not a fault of the row itself):
    versions follow each other (a new one takes effect after the current one did), and a new version takes
    effect no earlier than the day it is published: from a day past, it would rewrite what was in effect
    then (the manual served that day, the version a plan was made under). A matter's first version may name an
    earlier date: nothing was in effect before it."""
    if current is None:
        return 1, []
    errors: list[dict] = []
    if effective_from < today:
        errors.append({"field": "effective_from", "reason": f"a new version takes effect no earlier than the day "
                       f"it is published ({today.isoformat()}): what was in effect before stays as it was",
                       "conflict": True})
    if effective_from <= current.effective_from:
        errors.append({"field": "effective_from", "reason": f"version {current.version} is effective from "
                       f"{current.effective_from.isoformat()}; a new version takes effect after it", "conflict": True})
    return (0, errors) if errors else (current.version + 1, [])
