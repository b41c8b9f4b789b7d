"""The audit log: queried by the office, purged past its retention period (the only deletion allowed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.outbox import Transaction

from ..adapters import repositories as repo


async def query(session: AsyncSession, *, subject: str | None = None, object_id: str | None = None,
                route: str | None = None, outcome: str | None = None, since: datetime | None = None,
                until: datetime | None = None, before_id: int | None = None, limit: int = 100) -> list[dict]:
    return await repo.query_audit(session, subject=subject, object_id=object_id, route=route, outcome=outcome,
                                  since=since, until=until, before_id=before_id, limit=limit)


async def purge(tx: Transaction, retention_days: int) -> int:
    """Remove the entries older than ``retention_days``; returns how many."""
    return await repo.purge_audit(tx.session, retention_days)
