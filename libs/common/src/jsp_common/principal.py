"""Who is calling: the principal the gateway authenticated, proven to services by a signed assertion.

The gateway is the only way in from outside; on every call it forwards it sets ``X-JSP-Assertion``, a
short-lived signed assertion of the principal for that service (jsp_common.caller), which the service
verifies itself; the services scope what they return to the principal (a department sees only its own objects).
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import Depends, Request
from pydantic import BaseModel

from .problems import Problem


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
    name: str | None = None         # the client's name as the gateway knows it (a person's, shown on pages)

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_office(self) -> bool:
        return Role.OFFICE in self.roles


def verified_principal(request: Request) -> Principal:
    """The caller, as the gateway's signed assertion proves it (401 otherwise, recorded).

    The app's verifier (``app.state.callers``, a :class:`jsp_common.caller.Verifier`) is set by
    ``http.create_service_app``; the verified principal is kept on the request for the next dependency."""
    from .caller import HEADER, CallerRefused, refused

    known = getattr(request.state, "verified_principal", None)
    if known is not None:
        return known
    token = request.headers.get(HEADER)
    try:
        principal = request.app.state.callers.verify(token)
    except CallerRefused as exc:
        refused(exc, method=request.method, path=request.url.path,
                client=request.client.host if request.client else None, token=token)
        raise Problem(401, str(exc), reason=exc.reason) from None
    request.state.verified_principal = principal
    return principal


async def principal_from_request(request: Request) -> Principal:
    """FastAPI dependency: :func:`verified_principal`. A coroutine, so FastAPI runs it on the event loop: a plain
    function dependency would be handed to a worker thread and back on every call."""
    return verified_principal(request)


def require(*roles: Role):
    """Dependency factory: the caller must hold one of ``roles`` (403 otherwise)."""

    async def check(principal: Principal = Depends(principal_from_request)) -> Principal:
        if not principal.has(*roles):
            raise Problem(403, "this action needs one of the roles: " + ", ".join(r.value for r in roles))
        return principal

    return check
