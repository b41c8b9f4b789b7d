"""One function per command of the gateway: clients and credentials, tokens, ingest, entity 360, audit."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from jsp_common import clock, outbox
from jsp_common.envelope import describe, field_errors, new_envelope
from jsp_common.events import UnknownEventType, parse_data
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from .adapters import repositories as repo
from .adapters.upstream import UpstreamError
from .bootstrap import GatewayRuntime
from .domain import composition
from .domain.identity import (ClientSpec, CredentialKind, InvalidClient, Kind, TokenClaims, api_key_id,
                              new_api_key, new_client_id, new_secret)
from .domain.ingest import Feed, event_id_for, request_hash

INVALID_CREDENTIALS = "invalid client credentials"


@dataclass(frozen=True)
class IssuedCredential:
    credential_id: str
    kind: CredentialKind
    secret: str          # shown once, never stored


# ---------------------------------------------------------------- clients and credentials
async def _new_credential(rt: GatewayRuntime, session, client_id: str, kind: CredentialKind, *, by: str,
                          secret: str | None = None) -> IssuedCredential:
    if kind is CredentialKind.API_KEY:
        credential_id, secret = new_api_key()
    else:
        credential_id = f"{'pwd' if kind is CredentialKind.PASSWORD else 'sec'}_{secrets.token_hex(8)}"
        secret = secret or new_secret()
    await repo.add_credential(session, credential_id=credential_id, client_id=client_id, kind=kind,
                              hashed=await rt.hasher.hash(secret), created_by=by)
    return IssuedCredential(credential_id, kind, secret)


async def create_client(rt: GatewayRuntime, spec: ClientSpec, *, by: str, password: str | None = None
                        ) -> tuple[dict, IssuedCredential]:
    """A new system (with a client secret) or person (with ``password``, or a generated one)."""
    try:
        spec = spec.checked()
    except InvalidClient as exc:
        raise Problem(422, str(exc)) from None
    kind = CredentialKind.PASSWORD if spec.kind is Kind.PERSON else CredentialKind.SECRET
    try:
        async with rt.db.transaction() as session:
            client = await repo.insert_client(session, new_client_id(), spec, created_by=by)
            cred = await _new_credential(rt, session, client["client_id"], kind, by=by, secret=password)
    except IntegrityError:
        raise Problem(409, f"the user name {spec.username!r} is taken") from None
    return client, cred


async def issue_credential(rt: GatewayRuntime, client_id: str, kind: CredentialKind, *, by: str,
                           retire_previous_after_s: int | None = None) -> IssuedCredential:
    """Rotation: a new credential of ``kind``; the previous ones of that kind stop working after the grace
    period (``None`` keeps them, 0 revokes them now)."""
    async with rt.db.transaction() as session:
        client = await repo.get_client(session, client_id)
        if client is None:
            raise Problem(404, f"no client {client_id}")
        allowed = ({CredentialKind.PASSWORD} if client["kind"] == Kind.PERSON
                   else {CredentialKind.SECRET, CredentialKind.API_KEY})
        if kind not in allowed:
            raise Problem(409, f"a {client['kind']} holds credentials of kind: "
                               + ", ".join(sorted(k.value for k in allowed)))
        previous = await repo.usable_credentials(session, client_id, [kind])
        cred = await _new_credential(rt, session, client_id, kind, by=by)
        revoked = []
        if retire_previous_after_s is not None:
            for old in previous:
                if retire_previous_after_s == 0:
                    await repo.revoke_credential(session, old["credential_id"], by=by)
                    revoked.append(old["credential_id"])
                else:
                    await repo.expire_credential(session, old["credential_id"],
                                                 clock.now() + timedelta(seconds=retire_previous_after_s))
    for credential_id in revoked:  # committed: this replica stops their tokens at once
        rt.revocations.revoke_credential(credential_id)
    if revoked:
        rt.api_key_cache.clear()
    return cred


async def revoke_credential(rt: GatewayRuntime, client_id: str, credential_id: str, *, by: str) -> dict:
    async with rt.db.transaction() as session:
        cred = (await repo.revoke_credential(session, credential_id, by=by, client_id=client_id)
                or await repo.get_credential(session, credential_id))  # revoked already: as it stands
        if cred is None or cred["client_id"] != client_id:
            raise Problem(404, f"no credential {credential_id} for client {client_id}")
    rt.revocations.revoke_credential(credential_id)
    rt.api_key_cache.clear()
    return cred


async def set_client_status(rt: GatewayRuntime, client_id: str, status: str, *, by: str) -> dict:
    async with rt.db.transaction() as session:
        if not await repo.set_client_status(session, client_id, status):
            raise Problem(404, f"no client {client_id}")
        client = await repo.get_client(session, client_id)
    rt.revocations.set_client_blocked(client_id, status != "active")
    rt.api_key_cache.clear()
    return client


async def list_clients(rt: GatewayRuntime) -> list[dict]:
    async with rt.db.transaction() as session:
        clients = await repo.list_clients(session)
        by_client = await repo.credentials_by_client(session, [c["client_id"] for c in clients])
    for c in clients:
        c["credentials"] = by_client.get(c["client_id"], [])
    return clients


# ---------------------------------------------------------------- tokens
def _claims(client: dict, credential_id: str) -> TokenClaims:
    return TokenClaims(sub=client["client_id"], kind=Kind(client["kind"]), roles=client["roles"],
                       department=client["department"], division=client["division"], cid=credential_id,
                       name=client["name"])


async def _verify_any(rt: GatewayRuntime, candidates: list[dict], secret: str) -> dict | None:
    for cred in candidates:
        if await rt.hasher.verify(cred["hash"], secret):
            return cred
    return None


async def token_for_client_secret(rt: GatewayRuntime, client_id: str, secret: str) -> tuple[str, int, TokenClaims]:
    """OAuth2 client credentials: a system's client id and secret (or one of its API keys) for a token."""
    async with rt.db.transaction() as session:
        client = await repo.get_client(session, client_id)
        if client is None or client["status"] != "active" or client["kind"] != Kind.SYSTEM:
            raise Problem(401, INVALID_CREDENTIALS)
        key_id = api_key_id(secret)
        if key_id:  # an API key names its credential: verify that one only
            key = await repo.usable_credential(session, key_id, CredentialKind.API_KEY)
            candidates = [key] if key is not None and key["client_id"] == client_id else []
        else:
            candidates = await repo.usable_credentials(session, client_id, [CredentialKind.SECRET])
        cred = await _verify_any(rt, candidates, secret)
        if cred is None:
            raise Problem(401, INVALID_CREDENTIALS)
        await repo.touch_credential(session, cred["credential_id"])
    claims = _claims(client, cred["credential_id"])
    token, ttl = rt.issuer.issue(claims)
    return token, ttl, claims


async def token_for_password(rt: GatewayRuntime, username: str, password: str) -> tuple[str, int, TokenClaims]:
    async with rt.db.transaction() as session:
        client = await repo.get_client_by_username(session, username)
        if client is None or client["status"] != "active":
            await rt.hasher.burn(password)  # same cost whether or not the user exists
            raise Problem(401, "invalid user name or password")
        cred = await _verify_any(rt, await repo.usable_credentials(session, client["client_id"],
                                                                   [CredentialKind.PASSWORD]), password)
        if cred is None:
            raise Problem(401, "invalid user name or password")
        await repo.touch_credential(session, cred["credential_id"])
    claims = _claims(client, cred["credential_id"])
    token, ttl = rt.issuer.issue(claims)
    return token, ttl, claims


async def claims_for_api_key(rt: GatewayRuntime, key: str) -> TokenClaims:
    """An API key sent directly (``X-API-Key``); verified results are kept briefly in memory."""
    cached = rt.api_key_cache.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]  # type: ignore[return-value]
    key_id = api_key_id(key)
    if key_id is None:
        raise Problem(401, "malformed API key")
    async with rt.db.transaction() as session:
        cred = await repo.usable_credential(session, key_id, CredentialKind.API_KEY)
        client = await repo.get_client(session, cred["client_id"]) if cred else None
        usable = cred is not None and client is not None and client["status"] == "active"
        if not usable or not await rt.hasher.verify(cred["hash"], key):
            raise Problem(401, "invalid API key")
        await repo.touch_credential(session, key_id)
    claims = _claims(client, key_id)
    if len(rt.api_key_cache) > 10_000:
        rt.api_key_cache.clear()
    rt.api_key_cache[key] = (time.monotonic() + 30.0, claims)
    return claims




# ---------------------------------------------------------------- ingest
async def ingest(rt: GatewayRuntime, principal: Principal, feed: Feed, body: dict[str, Any], *,
                 idempotency_key: str | None, route: str) -> tuple[int, dict, bool]:
    """Validate one event against its published contract and queue it on the feed's topic (outbox),
    in the same transaction as the Idempotency-Key record. Returns (status, answer, replayed)."""
    event_type = body["type"]
    if event_type not in feed.event_types:
        raise Problem(422, f"{event_type!r} is not sent on {feed.topic}; expected one of: "
                           + ", ".join(feed.event_types),
                      errors=[{"field": "type", "reason": "unexpected event type"}])
    try:
        data = parse_data(event_type, body["data"])
    except UnknownEventType:
        raise Problem(503, f"the contract of {event_type} is not published yet; the event was not accepted") from None
    except ValidationError as exc:
        errors = [{**e, "field": f"data.{e['field']}"} for e in field_errors(exc)]
        raise Problem(422, "the event does not match its contract: " + describe(errors), errors=errors) from None
    payload = data.model_dump(mode="json")
    key = payload.get(feed.key_field)
    event_id = event_id_for(principal.subject, idempotency_key, body.get("id"))
    fingerprint = request_hash(route, body)
    async with rt.db.transaction() as session:
        if idempotency_key:
            earlier = await repo.claim_idempotency_key(session, subject=principal.subject, key=idempotency_key,
                                                       route=route, request_hash=fingerprint)
            if earlier is not None:
                if earlier["request_hash"] != fingerprint:
                    raise Problem(409, "this Idempotency-Key was used for a different request; "
                                       "use a new key for a new request")
                return earlier["status"], earlier["response"], True
        env = new_envelope(type=event_type, id=event_id, source=f"/jsp/gateway/ingest/{principal.subject}",
                           subject=str(key) if key is not None else None, data=payload,
                           time=body.get("time"))
        await outbox.add(session, feed.topic, env, key=str(key) if key is not None else None)
        answer = {"event_id": env.id, "type": env.type, "topic": feed.topic, "key": key, "status": "accepted",
                  "trace_id": env.trace_id}
        if idempotency_key:
            await repo.record_idempotent_response(session, subject=principal.subject, key=idempotency_key,
                                                  status=202, response=answer)
    return 202, answer, False


# ---------------------------------------------------------------- entity 360
async def _part(rt: GatewayRuntime, name: str, service: str, path: str, headers: dict, params=None
                ) -> composition.Part:
    try:
        resp = await rt.upstreams[service].request("GET", path, params=params, headers=headers)
    except UpstreamError as exc:
        return composition.Part(name, 0, reason=str(exc))
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.is_success:
        return composition.Part(name, resp.status_code, body)
    detail = body.get("detail") if isinstance(body, dict) else None
    return composition.Part(name, resp.status_code, reason=f"the {service} service answered {resp.status_code}"
                                                           + (f": {detail}" if detail else ""))


async def entity_360(rt: GatewayRuntime, uscc: str, headers: dict, *, parts: list[tuple[str, str, str, dict]]
                     ) -> dict:
    """``parts``: (name, service, path, params) besides the registry record, fetched concurrently."""
    record, *others = await asyncio.gather(
        _part(rt, "registry", "registry", f"/entities/{uscc}", headers),
        *(_part(rt, name, service, path, headers, params) for name, service, path, params in parts))
    try:
        return composition.compose(uscc, record, [composition.only_about(uscc, p) for p in others])
    except composition.EntityNotFound:
        raise Problem(404, f"no entity {uscc} visible to you") from None
