"""Who is calling: bearer tokens (people and systems) or API keys (systems); roles per route; rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from jsp_common.http import deps_of, get_runtime, transaction
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from ..usecases import auth, limits

bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="A token from POST /auth/token or /auth/login")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="A system's API key (jspk_...)")


async def _limit(request: Request, caller: str) -> None:
    """One request of ``caller`` against its rate limit, shared by every replica of the gateway (429 when spent)."""
    wait = await limits.take(deps_of(request), get_runtime(request).db, caller)
    if wait:
        raise Problem(429, "too many requests from this client; slow down",
                      headers={"Retry-After": str(max(1, round(wait)))})


async def current_principal(request: Request,
                            token: HTTPAuthorizationCredentials | None = Depends(bearer),
                            key: str | None = Depends(api_key)) -> Principal:
    """The authenticated caller (401 when there is none or the token is not good)."""
    deps = deps_of(request)
    if token is not None:
        claims = auth.claims_for_token(deps, token.credentials)
    elif key:
        claims = auth.verified_api_key(deps, key)
        if claims is None:
            async with transaction(request, once=False) as tx:  # who calls is not known yet: no request of theirs
                claims = await auth.claims_for_api_key(deps, tx, key)
    else:
        raise Problem(401, "authentication required: send 'Authorization: Bearer <token>' (POST /auth/token) "
                           "or 'X-API-Key'", headers=auth.CHALLENGE)
    principal = auth.principal_of(deps, claims)
    request.state.principal, request.state.claims = principal, claims
    await _limit(request, principal.subject)
    return principal


def require(*roles: Role):
    """Dependency: an authenticated caller holding one of ``roles`` (403 otherwise)."""

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has(*roles):
            raise Problem(403, "this route needs one of the roles: " + ", ".join(r.value for r in roles))
        return principal

    return check


async def public_caller(request: Request) -> None:
    """Public routes: no token, rate-limited per address."""
    await _limit(request, "ip:" + (request.client.host if request.client else "unknown"))


@asynccontextmanager
async def sign_in_attempt(request: Request, account: str) -> AsyncIterator[None]:
    """A person's sign-in to ``account`` (``user:<name>``) against the account's allowance of failed
    sign-ins, wherever they come from: while it is spent, 429 without checking the credential (guessing would go on
    otherwise); a failure (401) spends one, anything else nothing. Guesses at one account from many addresses are
    held back as from one, and a correct credential is refused only while failures have spent it."""
    deps, db = deps_of(request), get_runtime(request).db
    wait = await limits.hold_sign_in(deps, db, account)
    if wait:
        raise Problem(429, "too many failed sign-ins to this account; try again later",
                      headers={"Retry-After": str(max(1, round(wait)))})
    failed = False
    try:
        yield
    except Problem as exc:
        failed = exc.status == 401
        raise
    finally:
        if not failed:
            await limits.release_sign_in(deps, db, account)
