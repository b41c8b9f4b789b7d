"""The case transfers to and from public security (行刑衔接): their rows, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, not_, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import all_rows, first_row
from jsp_common.schedule_feed import Moved, counted_through

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


async def transfers_to_recount(session: AsyncSession, *, after: tuple[datetime, str] | None, limit: int,
                               moved: Moved) -> list[dict]:
    """Transfers with a provisional working-day deadline, or whose running one (by status,
    ``WORKDAY_DEADLINES``) was counted through a ``moved`` span, in (requested_at, id) order after ``after``,
    locked (one another transaction holds is waited for, as the clues' are)."""
    t = case_transfers.c
    names = transfer_rules.WORKDAY_DEADLINES
    q = select(case_transfers).where(or_(
        *(t[f"{name}_provisional"] for name in names.values()),
        *(and_(t.status == status, counted_through(t[f"{name}_from"], t[name], moved))
          for status, name in names.items())))
    if after is not None:
        q = q.where(tuple_(t.requested_at, t.id) > tuple_(*after))
    return await all_rows(session, q.order_by(t.requested_at, t.id).limit(limit).with_for_update())
