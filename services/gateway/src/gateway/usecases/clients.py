"""Clients and their credentials (the admin's work): create, rotate, revoke, disable, list."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock
from jsp_common.db import after_commit
from jsp_common.outbox import Transaction
from jsp_common.problems import Problem

from ..adapters import repositories as repo
from ..deps import Deps
from ..domain.identity import ClientSpec, CredentialKind, InvalidClient, Kind, new_api_key, new_client_id, new_secret


@dataclass(frozen=True)
class IssuedCredential:
    credential_id: str
    kind: CredentialKind
    secret: str          # shown once, never stored


async def _new_credential(deps: Deps, tx: Transaction, client_id: str, kind: CredentialKind, *, by: str,
                          secret: str | None = None) -> IssuedCredential:
    if kind is CredentialKind.API_KEY:
        credential_id, secret = new_api_key()
    else:
        credential_id = f"{'pwd' if kind is CredentialKind.PASSWORD else 'sec'}_{secrets.token_hex(8)}"
        secret = secret or new_secret()
    await repo.add_credential(tx.session, credential_id=credential_id, client_id=client_id, kind=kind,
                              hashed=await deps.hasher.hash(secret), created_by=by)
    return IssuedCredential(credential_id, kind, secret)


async def create_client(deps: Deps, tx: Transaction, spec: ClientSpec, *, by: str, password: str | None = None
                        ) -> tuple[dict, IssuedCredential]:
    """A new system (with a client secret) or person (with ``password``, or a generated one)."""
    try:
        spec = spec.checked()
    except InvalidClient as exc:
        raise Problem(422, str(exc)) from None
    kind = CredentialKind.PASSWORD if spec.kind is Kind.PERSON else CredentialKind.SECRET
    try:
        client = await repo.insert_client(tx.session, new_client_id(), spec, created_by=by)
    except IntegrityError:
        raise Problem(409, f"the user name {spec.username!r} is taken") from None
    cred = await _new_credential(deps, tx, client["client_id"], kind, by=by, secret=password)
    return client, cred


async def issue_credential(deps: Deps, tx: Transaction, client_id: str, kind: CredentialKind, *, by: str,
                           retire_previous_after_s: int | None = None) -> IssuedCredential:
    """Rotation: a new credential of ``kind``; the previous ones of that kind stop working after the grace
    period (``None`` keeps them, 0 revokes them now). The client is locked until the transaction ends: a
    rotation at the same moment waits, then retires this one's credential too."""
    client = await repo.get_client(tx.session, client_id, for_update=True)
    if client is None:
        raise Problem(404, f"no client {client_id}")
    allowed = ({CredentialKind.PASSWORD} if client["kind"] == Kind.PERSON
               else {CredentialKind.SECRET, CredentialKind.API_KEY})
    if kind not in allowed:
        raise Problem(409, f"a {client['kind']} holds credentials of kind: "
                           + ", ".join(sorted(k.value for k in allowed)))
    previous = await repo.usable_credentials(tx.session, client_id, [kind])
    cred = await _new_credential(deps, tx, client_id, kind, by=by)
    revoked = []
    if retire_previous_after_s is not None:
        for old in previous:
            if retire_previous_after_s == 0:
                await repo.revoke_credential(tx.session, old["credential_id"], by=by)
                revoked.append(old["credential_id"])
            else:
                await repo.expire_credential(tx.session, old["credential_id"],
                                             clock.now() + timedelta(seconds=retire_previous_after_s))
    if revoked:
        _stop_tokens(deps, tx, credentials=revoked)
    return cred


async def revoke_credential(deps: Deps, tx: Transaction, client_id: str, credential_id: str, *, by: str) -> dict:
    cred = (await repo.revoke_credential(tx.session, credential_id, by=by, client_id=client_id)
            or await repo.get_credential(tx.session, credential_id))  # revoked already: as it stands
    if cred is None or cred["client_id"] != client_id:
        raise Problem(404, f"no credential {credential_id} for client {client_id}")
    _stop_tokens(deps, tx, credentials=[credential_id])
    return cred


async def set_client_status(deps: Deps, tx: Transaction, client_id: str, status: str, *, by: str) -> dict:
    if not await repo.set_client_status(tx.session, client_id, status):
        raise Problem(404, f"no client {client_id}")
    client = await repo.get_client(tx.session, client_id)
    _stop_tokens(deps, tx, client=(client_id, status != "active"))
    return client


async def list_clients(session: AsyncSession) -> list[dict]:
    clients = await repo.list_clients(session)
    by_client = await repo.credentials_by_client(session, [c["client_id"] for c in clients])
    for c in clients:
        c["credentials"] = by_client.get(c["client_id"], [])
    return clients


async def client_by_username(tx: Transaction, username: str) -> dict | None:
    return await repo.get_client_by_username(tx.session, username)


def _stop_tokens(deps: Deps, tx: Transaction, *, credentials: Sequence[str] = (),
                 client: tuple[str, bool] | None = None) -> None:
    """Once committed, this replica stops the tokens of revoked credentials (or of a disabled client, and lets
    a re-enabled one's through) at once; the others learn of it at their next reload."""
    def apply() -> None:
        for credential_id in credentials:
            deps.revocations.revoke_credential(credential_id)
        if client is not None:
            deps.revocations.set_client_blocked(*client)
        deps.verified_keys.clear()
    after_commit(tx.session, apply)
