"""Who sees what: the office sees the whole directory, a department the entities it supervises. Pure."""

from __future__ import annotations

from typing import Iterable

from jsp_common.principal import Principal
from jsp_common.problems import Problem


def can_see_entity(principal: Principal, record_departments: Iterable[str]) -> bool:
    return principal.is_office or (principal.department is not None and principal.department in record_departments)


def department_scope(principal: Principal, requested: str | None, *, refused: str) -> tuple[bool, str | None]:
    """(visible, department filter) of a listing: the office sees what it asks for; a department sees only its
    own (asking for another's gives nothing); anyone else is refused (403, ``refused``)."""
    if principal.is_office:
        return True, requested
    if not principal.department:
        raise Problem(403, refused)
    return (not requested or requested == principal.department), principal.department
