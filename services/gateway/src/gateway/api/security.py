"""Who is calling: bearer tokens (people and systems) or API keys (systems); roles per route; rate limits."""

from __future__ import annotations

import time
from typing import cast

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from jsp_common.http import get_runtime
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from .. import handlers
from ..bootstrap import GatewayRuntime
from ..domain.identity import InvalidToken

bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="A token from POST /auth/token or /auth/login")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="A system's API key (jspk_...)")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="jsp"'}


def gateway(request: Request) -> GatewayRuntime:
    return cast(GatewayRuntime, get_runtime(request))


def _limit(rt: GatewayRuntime, caller: str) -> None:
    wait = rt.limiter.take(caller, time.monotonic())
    if wait:
        raise Problem(429, "too many requests from this client; slow down",
                      headers={"Retry-After": str(max(1, round(wait)))})


async def current_principal(request: Request,
                            token: HTTPAuthorizationCredentials | None = Depends(bearer),
                            key: str | None = Depends(api_key)) -> Principal:
    """The authenticated caller (401 when there is none or the token is not good)."""
    rt = gateway(request)
    if token is not None:
        try:
            claims = rt.issuer.verify(token.credentials)
        except InvalidToken as exc:
            raise Problem(401, str(exc), headers=CHALLENGE) from None
    elif key:
        claims = await handlers.claims_for_api_key(rt, key)
    else:
        raise Problem(401, "authentication required: send 'Authorization: Bearer <token>' (POST /auth/token) "
                           "or 'X-API-Key'", headers=CHALLENGE)
    if rt.revocations.blocks(claims.sub, claims.cid):
        raise Problem(401, "the credential behind this token was revoked or the client disabled",
                      headers=CHALLENGE)
    principal = claims.principal()
    request.state.principal = principal
    _limit(rt, principal.subject)
    return principal


def require(*roles: Role):
    """Dependency: an authenticated caller holding one of ``roles`` (403 otherwise)."""

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has(*roles):
            raise Problem(403, "this route needs one of the roles: " + ", ".join(r.value for r in roles))
        return principal

    return check


def public_caller(request: Request) -> None:
    """Public routes: no token, rate-limited per address."""
    _limit(gateway(request), "ip:" + (request.client.host if request.client else "unknown"))
