"""Clients and their credentials (admin role): create, rotate, revoke, disable. Secrets are shown once."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jsp_common import answers
from jsp_common.api_types import DepartmentCode, integer
from jsp_common.http import deps_of, reading, transaction

from jsp_common.principal import Principal, Role

from ..usecases import clients
from ..domain.identity import ClientSpec, CredentialKind, Kind
from .fields import Text
from .security import require

router = APIRouter(prefix="/admin", tags=["administration"])
admin = require(Role.ADMIN)


class ClientCreate(BaseModel):
    # What ClientSpec.checked enforces, stated in the schema: a person logs in with a user name, a system
    # never has one; the department role needs a department.
    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"oneOf": [{"required": ["kind", "username"],
                    "properties": {"kind": {"const": "person"}, "username": {"type": "string"}}},
                   {"properties": {"kind": {"const": "system"}, "username": {"type": "null"}}}]},
        {"anyOf": [{"properties": {"roles": {"items": {"not": {"const": "department"}}}}},
                   {"required": ["department"], "properties": {"department": {"type": "string"}}}]}]})

    name: Text = Field(min_length=1, max_length=200, description="e.g. 12345热线系统, 郑州市市场监管局业务系统")
    kind: Kind
    roles: list[Role] = Field(min_length=1)
    department: DepartmentCode | None = Field(None, description="department code, e.g. samr-410100")
    username: Text | None = Field(None, min_length=1, max_length=200, description="people only")
    password: Text | None = Field(None, min_length=12, max_length=500,
                                 description="people only; generated when absent")


class CredentialOut(BaseModel):
    credential_id: str
    kind: CredentialKind
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None


class ClientOut(BaseModel):
    client_id: str
    kind: Kind
    name: str
    username: str | None = None
    roles: list[Role]
    department: str | None = None
    division: str | None = None
    status: Literal["active", "disabled"]
    created_at: datetime
    created_by: str
    credentials: list[CredentialOut] = []


NOT_KEPT = ("the secret was shown once, in the first answer to this request, and is not kept: if it was lost, "
            "issue a new credential (POST /admin/clients/{client_id}/credentials) and revoke this one")


class IssuedOut(BaseModel):
    credential_id: str
    kind: CredentialKind
    secret: str | None = Field(description="shown once: store it now, it cannot be read again (null in the answer "
                                           "to a request resent with its Idempotency-Key: see `secret_not_kept`)")
    secret_not_kept: str | None = Field(None, description="in the answer to a resent request only: why the secret "
                                                          "is not shown, and what to do if it was lost")


class ClientCreated(BaseModel):
    client: ClientOut
    credential: IssuedOut


class RotateRequest(BaseModel):
    kind: CredentialKind
    retire_previous_after_s: integer(ge=0, le=30 * 86400) | None = Field(
        None,
        description="the previous credentials of this kind stop working after this many seconds (0: now); "
                    "absent: they stay valid until revoked")


class StatusChange(BaseModel):
    status: Literal["active", "disabled"]


def _issued(c: clients.IssuedCredential) -> IssuedOut:
    return IssuedOut(credential_id=c.credential_id, kind=c.kind, secret=c.secret)


def _shown_once(request: Request, answer: ClientCreated | IssuedOut) -> ClientCreated | IssuedOut:
    """``answer``, kept for a resend of the request (``Idempotency-Key``) without its secret: what is kept stays
    in the database about a day and is served to whoever resends."""
    issued = answer.credential if isinstance(answer, ClientCreated) else answer
    without = issued.model_copy(update={"secret": None, "secret_not_kept": NOT_KEPT})
    kept = answer.model_copy(update={"credential": without}) if isinstance(answer, ClientCreated) else without
    answers.keep_instead(request, JSONResponse(kept.model_dump(mode="json")).body)
    return answer


@router.post("/clients", status_code=201, response_model=ClientCreated, summary="Create a system or a person",
             responses={409: {"description": "The user name is taken"}})
async def create_client(request: Request, body: ClientCreate, who: Principal = Depends(admin)) -> ClientCreated:
    spec = ClientSpec(name=body.name, kind=body.kind, roles=tuple(body.roles), department=body.department,
                      username=body.username)
    async with transaction(request) as tx:
        client, cred = await clients.create_client(deps_of(request), tx, spec, by=who.subject, password=body.password)
    request.state.audit_object = client["client_id"]
    return _shown_once(request, ClientCreated(client=ClientOut(**client), credential=_issued(cred)))


@router.get("/clients", response_model=list[ClientOut], summary="Every client with its credentials (no secrets)")
async def list_clients(request: Request, who: Principal = Depends(admin)) -> list[ClientOut]:
    async with reading(request) as session:
        return [ClientOut(**c) for c in await clients.list_clients(session)]


@router.post("/clients/{client_id}/credentials", status_code=201, response_model=IssuedOut,
             summary="Issue a new secret, API key or password (rotation)",
             responses={409: {"description": "The client does not hold credentials of this kind (a person has "
                                             "passwords; a system secrets and API keys)"}})
async def rotate(request: Request, client_id: str, body: RotateRequest, who: Principal = Depends(admin)) -> IssuedOut:
    async with transaction(request) as tx:
        issued = await clients.issue_credential(deps_of(request), tx, client_id, body.kind, by=who.subject,
                                                retire_previous_after_s=body.retire_previous_after_s)
    return _shown_once(request, _issued(issued))


@router.post("/clients/{client_id}/credentials/{credential_id}/revoke", response_model=CredentialOut,
             summary="Revoke a credential: it and the tokens issued for it stop working")
async def revoke(request: Request, client_id: str, credential_id: str, who: Principal = Depends(admin)
                 ) -> CredentialOut:
    async with transaction(request) as tx:
        cred = await clients.revoke_credential(deps_of(request), tx, client_id, credential_id, by=who.subject)
    return CredentialOut(**cred)


@router.post("/clients/{client_id}/status", response_model=ClientOut, summary="Disable or re-enable a client")
async def set_status(request: Request, client_id: str, body: StatusChange, who: Principal = Depends(admin)
                     ) -> ClientOut:
    async with transaction(request) as tx:
        client = await clients.set_client_status(deps_of(request), tx, client_id, body.status, by=who.subject)
    return ClientOut(**client)
