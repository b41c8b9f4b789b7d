"""Reading and writing the gateway's tables (the session is the caller's unit of work)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Float, and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock

from ..domain.identity import ClientSpec, CredentialKind
from .tables import audit_log, clients, credentials, idempotency_keys, rate_buckets, signed_out_tokens


# ---------------------------------------------------------------- clients and credentials
async def insert_client(session: AsyncSession, client_id: str, spec: ClientSpec, *, created_by: str) -> dict:
    row = dict(client_id=client_id, kind=spec.kind.value, name=spec.name, username=spec.username,
               roles=[r.value for r in spec.roles], department=spec.department, division=spec.division,
               created_by=created_by)
    await session.execute(insert(clients).values(**row))
    return await get_client(session, client_id)


async def get_client(session: AsyncSession, client_id: str, *, for_update: bool = False) -> dict | None:
    q = select(clients).where(clients.c.client_id == client_id)
    row = (await session.execute(q.with_for_update() if for_update else q)).mappings().first()
    return dict(row) if row else None


async def get_client_by_username(session: AsyncSession, username: str) -> dict | None:
    row = (await session.execute(select(clients).where(clients.c.username == username))).mappings().first()
    return dict(row) if row else None


async def list_clients(session: AsyncSession) -> list[dict]:
    rows = (await session.execute(select(clients).order_by(clients.c.created_at))).mappings().all()
    return [dict(r) for r in rows]


async def set_client_status(session: AsyncSession, client_id: str, status: str) -> bool:
    res = await session.execute(update(clients).where(clients.c.client_id == client_id)
                                .values(status=status, updated_at=clock.now()))
    return res.rowcount == 1


async def add_credential(session: AsyncSession, *, credential_id: str, client_id: str, kind: CredentialKind,
                         hashed: str, created_by: str) -> None:
    await session.execute(insert(credentials).values(credential_id=credential_id, client_id=client_id,
                                                     kind=kind.value, hash=hashed, created_by=created_by))


async def get_credential(session: AsyncSession, credential_id: str) -> dict | None:
    row = (await session.execute(select(credentials).where(credentials.c.credential_id == credential_id))
           ).mappings().first()
    return dict(row) if row else None


def _usable(kinds: Sequence[CredentialKind]) -> tuple:
    """The conditions of a usable credential: one of ``kinds``, not revoked, not expired."""
    return (credentials.c.kind.in_([k.value for k in kinds]),
            credentials.c.revoked_at.is_(None),
            or_(credentials.c.expires_at.is_(None), credentials.c.expires_at > clock.now()))


async def usable_credentials(session: AsyncSession, client_id: str, kinds: Sequence[CredentialKind]) -> list[dict]:
    rows = (await session.execute(
        select(credentials).where(credentials.c.client_id == client_id, *_usable(kinds))
        .order_by(credentials.c.created_at.desc()))).mappings().all()
    return [dict(r) for r in rows]


async def usable_credential(session: AsyncSession, credential_id: str, kind: CredentialKind) -> dict | None:
    """The credential ``credential_id`` if it is of ``kind`` and usable (same conditions as above), else None."""
    row = (await session.execute(
        select(credentials).where(credentials.c.credential_id == credential_id, *_usable([kind]))
    )).mappings().first()
    return dict(row) if row else None


async def credentials_by_client(session: AsyncSession, client_ids: Sequence[str]) -> dict[str, list[dict]]:
    """The credentials of each of ``client_ids`` (oldest first), in one query."""
    by_client: dict[str, list[dict]] = {}
    if not client_ids:
        return by_client
    rows = (await session.execute(select(credentials).where(credentials.c.client_id.in_(client_ids))
                                  .order_by(credentials.c.created_at))).mappings().all()
    for r in rows:
        by_client.setdefault(r["client_id"], []).append(dict(r))
    return by_client


async def revoke_credential(session: AsyncSession, credential_id: str, *, by: str,
                            client_id: str | None = None) -> dict | None:
    """Revoke a credential not revoked yet (only of ``client_id``, when given): the revoked row, else None."""
    q = update(credentials).where(credentials.c.credential_id == credential_id, credentials.c.revoked_at.is_(None))
    if client_id is not None:
        q = q.where(credentials.c.client_id == client_id)
    row = (await session.execute(q.values(revoked_at=clock.now(), revoked_by=by).returning(credentials))
           ).mappings().first()
    return dict(row) if row else None


async def expire_credential(session: AsyncSession, credential_id: str, at: datetime) -> None:
    await session.execute(update(credentials).where(credentials.c.credential_id == credential_id,
                                                    or_(credentials.c.expires_at.is_(None),
                                                        credentials.c.expires_at > at))
                          .values(expires_at=at))


async def touch_credential(session: AsyncSession, credential_id: str) -> None:
    await session.execute(update(credentials).where(credentials.c.credential_id == credential_id)
                          .values(last_used_at=clock.now()))


async def unusable_since(session: AsyncSession, since: datetime) -> tuple[set[str], set[str], set[str]]:
    """Credentials revoked or expired, and clients disabled, since ``since``: their tokens stop working; and the
    digests of tokens signed out that have not expired yet."""
    now = clock.now()
    creds = (await session.execute(select(credentials.c.credential_id).where(or_(
        credentials.c.revoked_at >= since,
        and_(credentials.c.expires_at >= since, credentials.c.expires_at <= now))))).scalars().all()
    disabled = (await session.execute(select(clients.c.client_id).where(clients.c.status != "active"))
                ).scalars().all()
    signed_out = (await session.execute(select(signed_out_tokens.c.token_digest)
                                        .where(signed_out_tokens.c.expires_at > now))).scalars().all()
    return set(creds), set(disabled), set(signed_out)


async def sign_out_token(session: AsyncSession, digest: str, expires_at: datetime) -> None:
    await session.execute(pg_insert(signed_out_tokens).values(token_digest=digest, expires_at=expires_at)
                          .on_conflict_do_nothing())


async def purge_signed_out_tokens(session: AsyncSession, now: datetime) -> int:
    return (await session.execute(delete(signed_out_tokens).where(signed_out_tokens.c.expires_at <= now))).rowcount


# ---------------------------------------------------------------- audit log
async def append_audit(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    if entries:
        await session.execute(insert(audit_log), list(entries))


async def query_audit(session: AsyncSession, *, subject: str | None = None, object_id: str | None = None,
                      route: str | None = None, outcome: str | None = None, since: datetime | None = None,
                      until: datetime | None = None, before_id: int | None = None, limit: int = 100) -> list[dict]:
    q = select(audit_log)
    for col, value in ((audit_log.c.subject, subject), (audit_log.c.object_id, object_id),
                       (audit_log.c.route, route), (audit_log.c.outcome, outcome)):
        if value is not None:
            q = q.where(col == value)
    if since is not None:
        q = q.where(audit_log.c.at >= since)
    if until is not None:
        q = q.where(audit_log.c.at < until)
    if before_id is not None:
        q = q.where(audit_log.c.id < before_id)
    rows = (await session.execute(q.order_by(audit_log.c.id.desc()).limit(limit))).mappings().all()
    return [dict(r) for r in rows]


# ---------------------------------------------------------------- idempotency keys
async def claim_idempotency_key(session: AsyncSession, *, subject: str, key: str, route: str,
                                request_hash: str) -> dict | None:
    """Reserve ``key`` for this transaction; returns the earlier record if the key was used before.

    A concurrent request with the same key waits here until the first one's transaction ends.
    """
    res = await session.execute(pg_insert(idempotency_keys)
                                .values(subject=subject, key=key, route=route, request_hash=request_hash,
                                        status=0, response={})
                                .on_conflict_do_nothing(index_elements=["subject", "key"]))
    if res.rowcount == 1:
        return None
    row = (await session.execute(select(idempotency_keys).where(idempotency_keys.c.subject == subject,
                                                                idempotency_keys.c.key == key))).mappings().first()
    return dict(row)


async def record_idempotent_response(session: AsyncSession, *, subject: str, key: str, status: int,
                                     response: dict) -> None:
    await session.execute(update(idempotency_keys)
                          .where(idempotency_keys.c.subject == subject, idempotency_keys.c.key == key)
                          .values(status=status, response=response))


async def purge_idempotency_keys(session: AsyncSession, older_than: datetime) -> int:
    res = await session.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < older_than))
    return res.rowcount


async def purge_audit(session: AsyncSession, retention_days: int) -> int:
    """Delete audit entries older than the retention period: the one deletion the append-only trigger allows."""
    await session.execute(text("SELECT set_config('jsp.audit_purge', 'on', true), "
                               "set_config('jsp.audit_retention_days', :days, true)"), {"days": str(retention_days)})
    res = await session.execute(delete(audit_log).where(
        audit_log.c.at < func.now() - func.make_interval(0, 0, 0, retention_days)))
    return res.rowcount


# ---------------------------------------------------------------- rate limits (shared by the replicas)
_TAKE_TOKENS = text("""
INSERT INTO rate_buckets AS b (caller, tokens, allowed, at)
VALUES (:caller, CASE WHEN :burst >= :count THEN :burst - :count ELSE :burst END, :burst >= :count, now())
ON CONFLICT (caller) DO UPDATE SET
    tokens = LEAST(:burst, b.tokens + EXTRACT(EPOCH FROM now() - b.at) * :rate)
             - CASE WHEN LEAST(:burst, b.tokens + EXTRACT(EPOCH FROM now() - b.at) * :rate) >= :count
                    THEN :count ELSE 0 END,
    allowed = LEAST(:burst, b.tokens + EXTRACT(EPOCH FROM now() - b.at) * :rate) >= :count,
    at = now()
RETURNING tokens, allowed""").bindparams(bindparam("burst", type_=Float), bindparam("count", type_=Float),
                                         bindparam("rate", type_=Float))


async def take_rate_tokens(session: AsyncSession, caller: str, *, per_second: float, burst: float,
                           count: int = 1) -> tuple[float, bool]:
    """Take ``count`` tokens from ``caller``'s bucket (refilled at ``per_second``, holding up to ``burst``),
    whichever replica it calls, all or none: (tokens left, whether they were taken)."""
    row = (await session.execute(_TAKE_TOKENS, {"caller": caller, "rate": per_second, "burst": burst,
                                                "count": float(count)})).one()
    return float(row.tokens), bool(row.allowed)


async def give_back_rate_token(session: AsyncSession, caller: str, *, burst: float) -> None:
    """One token back into ``caller``'s bucket (never above ``burst``): one taken for an attempt that turned out
    not to count."""
    await session.execute(update(rate_buckets).where(rate_buckets.c.caller == caller)
                          .values(tokens=func.least(burst, rate_buckets.c.tokens + 1.0)))


async def purge_rate_buckets(session: AsyncSession, older_than: datetime) -> int:
    res = await session.execute(delete(rate_buckets).where(rate_buckets.c.at < older_than))
    return res.rowcount or 0
