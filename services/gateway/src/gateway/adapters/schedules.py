"""The working-day schedules the office maintains (one row per year, the newest revision)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import workday_schedules


async def one(session: AsyncSession, year: int, *, lock: bool = False) -> dict[str, Any] | None:
    """The year's row; ``lock``: the year is held until the transaction ends, also before its first upload (a
    change of the year at the same moment waits, then reads this one's revision)."""
    q = select(workday_schedules).where(workday_schedules.c.year == year)
    if lock:
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(workday_schedules.name), year)))
    row = (await session.execute(q)).first()
    return dict(row._mapping) if row else None


async def every(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(select(workday_schedules).order_by(workday_schedules.c.year))).all()
    return [dict(r._mapping) for r in rows]


async def save(session: AsyncSession, row: dict[str, Any]) -> None:
    stmt = insert(workday_schedules).values(**row)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[workday_schedules.c.year],
        set_={c: stmt.excluded[c] for c in row if c != "year"}))
