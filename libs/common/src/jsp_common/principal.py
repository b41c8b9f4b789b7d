"""Who is calling: the principal the gateway authenticated, passed to services in one header.

The gateway is the only way in from outside; it sets ``X-JSP-Principal`` (JSON) on every call it
forwards, and the services scope what they return to it (a department sees only its own objects).
"""

from __future__ import annotations

import json
from enum import StrEnum

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from .problems import Problem

HEADER = "x-jsp-principal"


class Role(StrEnum):
    OFFICE = "office"          # task-force office (专班办公室): sees all, manages rules and adjudication
    DEPARTMENT = "department"  # an industry department: only what is assigned to it
    BUREAU = "bureau"          # market regulation bureau: pushes registrations
    HOTLINE = "hotline"        # 12345 hotline system: pushes clues, reads replies, may see callers' details
    ADMIN = "admin"            # manages clients and keys in the gateway


class Principal(BaseModel):
    subject: str                    # client id or user name
    kind: str = "system"            # "system" or "person"
    roles: list[Role]
    department: str | None = None   # e.g. "samr-410100" for a department's client
    division: str | None = None     # the department's division code

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    def header_value(self) -> str:
        return self.model_dump_json()

    @property
    def is_office(self) -> bool:
        return Role.OFFICE in self.roles


def principal_from_request(request: Request) -> Principal:
    """FastAPI dependency: the caller, as the gateway vouched for it (401 when absent or malformed)."""
    raw = request.headers.get(HEADER)
    if not raw:
        raise Problem(401, f"missing {HEADER} header: services are reached through the gateway")
    try:
        return Principal.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        raise Problem(401, f"malformed {HEADER} header") from None


def require(*roles: Role):
    """Dependency factory: the caller must hold one of ``roles`` (403 otherwise)."""

    def check(principal: Principal = Depends(principal_from_request)) -> Principal:
        if not principal.has(*roles):
            raise Problem(403, "this action needs one of the roles: " + ", ".join(r.value for r in roles))
        return principal

    return check
