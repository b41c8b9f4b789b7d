"""Who sees what: the office sees everything; a department only its own plans and inspectors and the joint
tasks its items are part of. Anything else is answered as if it did not exist (404)."""

from __future__ import annotations

from jsp_common.principal import Principal, Role


def sees_all(p: Principal) -> bool:
    return p.has(Role.OFFICE)


def department_of(p: Principal) -> str | None:
    """The department a department caller acts for (None for the office)."""
    if sees_all(p):
        return None
    return p.department if p.has(Role.DEPARTMENT) and p.department else ""


def owns(p: Principal, department: str) -> bool:
    return sees_all(p) or (p.has(Role.DEPARTMENT) and p.department == department)


def in_task(p: Principal, task: dict) -> bool:
    return sees_all(p) or (p.has(Role.DEPARTMENT) and p.department in task["departments"])


def leads(p: Principal, task: dict) -> bool:
    return sees_all(p) or (p.has(Role.DEPARTMENT) and p.department == task["lead_department"])


def sees_target(p: Principal, task: dict, target: dict) -> bool:
    """An entity of a joint task: the office, the lead department (it publishes the results) and the departments
    inspecting it; not the task's other departments."""
    return leads(p, task) or (p.has(Role.DEPARTMENT) and p.department in target["departments"])


def told_of_results(target_departments: list[str], lead: str) -> list[str]:
    """Who is told of an entity's results and their publication deadline: the departments of the visit, and the
    lead, which publishes them, though it may not inspect that entity itself."""
    return list(dict.fromkeys([*target_departments, lead]))
