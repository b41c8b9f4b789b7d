"""Tokens: a system's client id and secret (or API key), or a person's password, for a short-lived signed
token; an API key sent directly; a bearer token checked."""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta, timezone

from jsp_common import clock
from jsp_common.db import after_commit
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import repositories as repo
from ..deps import Deps
from ..domain.identity import CredentialKind, InvalidToken, Kind, TokenClaims, api_key_id
from ..domain.revocations import session_digest, token_digest
from ..domain.sessions import SessionRules

INVALID_CREDENTIALS = "invalid client credentials"
INVALID_PASSWORD = "invalid user name or password"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="jsp"'}

Issued = tuple[str, int, TokenClaims]   # (token, seconds it lives, what it says)


def _claims(client: dict, credential_id: str) -> TokenClaims:
    return TokenClaims(sub=client["client_id"], kind=Kind(client["kind"]), roles=client["roles"],
                       department=client["department"], division=client["division"], cid=credential_id,
                       name=client["name"])


async def _verify_any(deps: Deps, candidates: list[dict], secret: str) -> dict | None:
    for cred in candidates:
        if await deps.hasher.verify(cred["hash"], secret):
            return cred
    return None


def sessions(deps: Deps) -> SessionRules:
    return SessionRules(token_ttl_s=deps.settings.token_ttl_s, max_s=deps.settings.session_max_s)


def _issue(deps: Deps, client: dict, credential_id: str, *, session: bool = False) -> Issued:
    """A token for the client; a person's begins a sign-in session (its id and start in the token)."""
    claims = _claims(client, credential_id)
    if session:
        now = int(time.time())
        claims = claims.model_copy(update={"sid": secrets.token_urlsafe(16), "auth_time": now})
        token, ttl = deps.issuer.issue(claims, now=now, not_after=sessions(deps).ends(claims))
    else:
        token, ttl = deps.issuer.issue(claims)
    return token, ttl, claims


def renewed(deps: Deps, claims: TokenClaims) -> Issued | None:
    """A fresh token of the same session for a good token (its claims) past half its life (None: not due, or the
    session is over, or the token is not a session's); it lives to the session's end at most."""
    now = int(time.time())
    ends = sessions(deps).renewal(claims, now)
    if ends is None:
        return None
    token, ttl = deps.issuer.issue(claims, now=now, not_after=ends)
    return token, ttl, claims


async def token_for_client_secret(deps: Deps, tx: Transaction, client_id: str, secret: str) -> Issued:
    """OAuth2 client credentials: a system's client id and secret (or one of its API keys) for a token."""
    client = await repo.get_client(tx.session, client_id)
    if client is None or client["status"] != "active" or client["kind"] != Kind.SYSTEM:
        raise Problem(401, INVALID_CREDENTIALS)
    key_id = api_key_id(secret)
    if key_id:  # an API key names its credential: verify that one only
        key = await repo.usable_credential(tx.session, key_id, CredentialKind.API_KEY)
        candidates = [key] if key is not None and key["client_id"] == client_id else []
    else:
        candidates = await repo.usable_credentials(tx.session, client_id, [CredentialKind.SECRET])
    cred = await _verify_any(deps, candidates, secret)
    if cred is None:
        raise Problem(401, INVALID_CREDENTIALS)
    await repo.touch_credential(tx.session, cred["credential_id"])
    return _issue(deps, client, cred["credential_id"])


async def token_for_password(deps: Deps, tx: Transaction, username: str, password: str, *,
                             session: bool = False) -> Issued:
    """A person's token for their password; ``session``: signing in on the pages, the token begins a session they
    keep going (``renewed``); a token asked for through the API lives its time and ends."""
    client = await repo.get_client_by_username(tx.session, username)
    if client is None or client["status"] != "active":
        await deps.hasher.burn(password)  # same cost whether or not the user exists
        raise Problem(401, INVALID_PASSWORD)
    cred = await _verify_any(deps, await repo.usable_credentials(tx.session, client["client_id"],
                                                                 [CredentialKind.PASSWORD]), password)
    if cred is None:
        raise Problem(401, INVALID_PASSWORD)
    await repo.touch_credential(tx.session, cred["credential_id"])
    return _issue(deps, client, cred["credential_id"], session=session)


def verified_api_key(deps: Deps, key: str) -> TokenClaims | None:
    """The claims of an API key verified lately (no database, no hashing), else None."""
    return deps.verified_keys.get(key)


async def claims_for_api_key(deps: Deps, tx: Transaction, key: str) -> TokenClaims:
    """An API key sent directly (``X-API-Key``); once committed, the verified key is kept briefly in memory."""
    key_id = api_key_id(key)
    if key_id is None:
        raise Problem(401, "malformed API key")
    cred = await repo.usable_credential(tx.session, key_id, CredentialKind.API_KEY)
    client = await repo.get_client(tx.session, cred["client_id"]) if cred else None
    usable = cred is not None and client is not None and client["status"] == "active"
    if not usable or not await deps.hasher.verify(cred["hash"], key):
        raise Problem(401, "invalid API key")
    await repo.touch_credential(tx.session, key_id)
    claims = _claims(client, key_id)
    after_commit(tx.session, lambda: deps.verified_keys.put(key, claims))
    return claims


def claims_for_token(deps: Deps, token: str) -> TokenClaims:
    """A bearer token's claims (401 when it is not good, or signed out)."""
    try:
        claims = deps.issuer.verify(token)
    except InvalidToken as exc:
        raise Problem(401, str(exc), headers=CHALLENGE) from None
    if deps.revocations.signed_out(token, claims.sid):
        raise Problem(401, "this token was signed out; sign in again", headers=CHALLENGE)
    return claims


async def sign_out(deps: Deps, tx: Transaction, token: str) -> None:
    """End a token before it expires, and the session it belongs to (every token of it, the earlier ones a copy
    of the cookie may hold), in every replica (this one at once, once committed; the others at their next reload
    of the revocations). A token that is not good already is left alone."""
    try:
        claims = deps.issuer.verify(token)
    except InvalidToken:
        return
    expires = clock.now() + timedelta(seconds=deps.settings.token_ttl_s)  # it lives no longer than that
    await repo.sign_out_token(tx.session, token_digest(token), expires)
    if (ends := sessions(deps).ends(claims)) is not None:
        await repo.sign_out_token(tx.session, session_digest(claims.sid), datetime.fromtimestamp(ends, timezone.utc))
    after_commit(tx.session, lambda: deps.revocations.sign_out(token, claims.sid))


def principal_of(deps: Deps, claims: TokenClaims) -> Principal:
    """The caller the claims stand for, unless its credential was revoked or its client disabled since (401)."""
    if deps.revocations.blocks(claims.sub, claims.cid):
        raise Problem(401, "the credential behind this token was revoked or the client disabled",
                      headers=CHALLENGE)
    return claims.principal()


def still_good(deps: Deps, token: str, claims: TokenClaims) -> bool:
    """Whether what a good token opened may go on (a live page's stream outlives the request that opened it, and
    is asked this again while it is relayed): its session not over, else the token not expired; neither signed
    out; its credential not revoked nor its client disabled. So the end of a session ends its stream too, and
    a stream lasts while its page keeps the session going."""
    if deps.revocations.signed_out(token, claims.sid) or not sessions(deps).lasts(claims, time.time()):
        return False
    try:
        principal_of(deps, claims)
    except Problem:
        return False
    return True
