"""Log in: OAuth2 token endpoint (client credentials for systems, password for people) and /auth/login."""

from __future__ import annotations

import base64
from typing import Literal

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field

from jsp_common.api_types import printable
from jsp_common.http import deps_of, transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..usecases import auth
from .fields import Text
from .security import current_principal, public_caller, sign_in_attempt

router = APIRouter(tags=["authentication"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")
    roles: list[str]
    department: str | None = None
    division: str | None = None


class LoginRequest(BaseModel):
    username: Text = Field(min_length=1, max_length=200)
    password: Text = Field(min_length=1, max_length=500)


def _answer(token: str, ttl: int, claims) -> TokenResponse:
    return TokenResponse(access_token=token, expires_in=ttl, roles=[r.value for r in claims.roles],
                         department=claims.department, division=claims.division)


def _basic(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        user, _, pwd = base64.b64decode(header[6:]).decode().partition(":")
        printable([user, pwd])
    except ValueError:  # not base64 (or not ASCII), not UTF-8, a control character in the credentials
        raise Problem(400, "malformed Basic authorization header") from None
    return user, pwd


@router.post("/auth/token", response_model=TokenResponse, dependencies=[Depends(public_caller)],
             summary="OAuth2 token endpoint (client_credentials for systems, password for people)",
             responses={400: {"description": "unsupported grant"}, 401: {"description": "bad credentials"},
                        429: {"description": "too many requests from this address, or failed sign-ins to this "
                                             "account"}})
async def token(request: Request,
                grant_type: Literal["client_credentials", "password"] = Form(),
                client_id: Text | None = Form(None, max_length=200),
                client_secret: Text | None = Form(None, max_length=500,
                                                 description="the client secret, or one of the client's API keys"),
                username: Text | None = Form(None, max_length=200),
                password: Text | None = Form(None, max_length=500)) -> TokenResponse:
    deps = deps_of(request)
    if grant_type == "password":
        request.state.audit_object = username  # the account tried, on the audit log (the call has no principal)
        if not username or not password:
            raise Problem(400, "grant_type=password needs username and password")
        async with sign_in_attempt(request, "user:" + username), transaction(request) as tx:
            return _answer(*await auth.token_for_password(deps, tx, username, password))
    basic_id, basic_secret = _basic(request)
    client_id, client_secret = client_id or basic_id, client_secret or basic_secret
    request.state.audit_object = client_id
    if not client_id or not client_secret:
        raise Problem(400, "grant_type=client_credentials needs client_id and client_secret "
                           "(form fields or HTTP Basic)")
    # No allowance of failures for a system: its secret is generated (no one guesses it), and a lock its client id
    # alone could bring on would stop a line system's data.
    async with transaction(request) as tx:
        return _answer(*await auth.token_for_client_secret(deps, tx, client_id, client_secret))


@router.post("/auth/login", response_model=TokenResponse, dependencies=[Depends(public_caller)],
             summary="A person logs in with user name and password",
             responses={401: {"description": "bad credentials"},
                        429: {"description": "too many requests from this address, or failed sign-ins to this "
                                             "account"}})
async def login(request: Request, body: LoginRequest) -> TokenResponse:
    return await signed_in(request, body)


async def signed_in(request: Request, body: LoginRequest, *, pages: bool = False) -> TokenResponse:
    """A person's token for their password; ``pages``: the token begins a session the pages keep going."""
    request.state.audit_object = body.username  # the account tried, on the audit log (the call has no principal)
    async with sign_in_attempt(request, "user:" + body.username), transaction(request) as tx:
        return _answer(*await auth.token_for_password(deps_of(request), tx, body.username, body.password,
                                                      session=pages))


@router.get("/auth/me", response_model=Principal, summary="Who the token says you are")
async def me(principal: Principal = Depends(current_principal)) -> Principal:
    return principal
