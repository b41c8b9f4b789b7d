"""The case transfers to and from public security (行刑衔接): their rows, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import all_rows, first_row

from ..domain import transfers as transfer_rules
from .tables import case_transfers


async def add_transfer(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(case_transfers).values(**values))


async def get_transfer(session: AsyncSession, transfer_id: str, *, for_update: bool = False) -> dict | None:
    q = select(case_transfers).where(case_transfers.c.id == transfer_id)
    return await first_row(session, q, for_update=for_update)


async def transfers_of_clue(session: AsyncSession, clue_id: str, *, direction: str | None = None,
                            status: str | None = None) -> list[dict]:
    q = select(case_transfers).where(case_transfers.c.clue_id == clue_id)
    if direction:
        q = q.where(case_transfers.c.direction == direction)
    if status:
        q = q.where(case_transfers.c.status == status)
    return await all_rows(session, q.order_by(case_transfers.c.requested_at))


async def update_transfer(session: AsyncSession, transfer_id: str, **values: Any) -> None:
    await session.execute(update(case_transfers).where(case_transfers.c.id == transfer_id).values(**values))


async def transfers_overdue(session: AsyncSession, now: datetime, *, limit: int) -> list[dict]:
    """Transfers to the police whose running timer has passed and is not announced yet, oldest request first,
    locked (those another replica holds are skipped: it announces them)."""
    t = case_transfers.c
    late = [and_(t.status == status, t[column] < now, not_(t.overdue.any(timer)))
            for status, (timer, column) in transfer_rules.RUNNING.items()]
    return await all_rows(session, select(case_transfers).where(or_(*late)).order_by(t.requested_at, t.id)
                          .limit(limit).with_for_update(skip_locked=True))
