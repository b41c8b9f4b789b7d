"""The must-inspect list: targeted inspections risk alerts asked for (SQLAlchemy Core, in the caller's
transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import dicts

from .directory import _filter
from .tables import entities, inspection_requests as requests

FIELDS = [c.name for c in requests.c]


async def add(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record requests; one already recorded (a redelivered event) is left as it is."""
    if rows:
        await session.execute(pg_insert(requests).values(rows).on_conflict_do_nothing(index_elements=["request_id"]))


async def listing(session: AsyncSession, *, department: str | None, state: str | None, limit: int,
                  offset: int) -> list[dict]:
    q = select(requests)
    if department:
        q = q.where(requests.c.departments.any(department))
    if state == "open":
        q = q.where(requests.c.covered_at.is_(None), requests.c.task_id.is_(None))
    elif state == "planned":
        q = q.where(requests.c.covered_at.is_(None), requests.c.task_id.is_not(None))
    elif state == "covered":
        q = q.where(requests.c.covered_at.is_not(None))
    rows = await session.execute(q.order_by(requests.c.requested_at.desc(), requests.c.request_id)
                                 .limit(limit).offset(offset))
    return dicts(rows)


async def open_for_plan(session: AsyncSession, department: str, f: dict[str, Any]) -> list[dict]:
    """Open requests (not taken in by a task yet) asking ``department`` about an entity its plan's filter
    covers, locked until the caller's transaction ends (another draw skips them). The yearly cap on inspections
    per entity does not apply: it limits the random draws, and a risk alert's request for a visit is answered
    even for an entity they visited enough this year (the visit counts towards the cap)."""
    q = (select(requests.c.request_id, requests.c.uscc, requests.c.requested_at)
         .join(entities, entities.c.uscc == requests.c.uscc)
         .where(requests.c.covered_at.is_(None), requests.c.task_id.is_(None),
                requests.c.departments.any(department), _filter(f))
         .order_by(requests.c.request_id).with_for_update(of=requests, skip_locked=True))
    return dicts(await session.execute(q))


async def take_in(session: AsyncSession, request_ids: list[str], task_id: str) -> None:
    if request_ids:
        await session.execute(update(requests).where(requests.c.request_id.in_(request_ids)).values(task_id=task_id))


async def release(session: AsyncSession, task_id: str, *, targets: Sequence[str] = ()) -> None:
    """The task's requests, but those about one of its ``targets``, are open again, for a later draw: all of them
    when its draw was refused or abandoned, those it left out when it was performed (the entity's items already
    have a result this period, say)."""
    q = update(requests).where(requests.c.task_id == task_id, requests.c.covered_at.is_(None))
    if targets:
        q = q.where(requests.c.uscc.not_in(list(targets)))
    await session.execute(q.values(task_id=None))


async def cover(session: AsyncSession, uscc: str, at: datetime) -> int:
    """A result was published for the entity: every request about it made before is covered."""
    res = await session.execute(update(requests).where(requests.c.uscc == uscc, requests.c.covered_at.is_(None),
                                                       requests.c.requested_at <= at).values(covered_at=at))
    return res.rowcount or 0


async def count_open(session: AsyncSession) -> int:
    q = select(func.count()).select_from(requests).where(requests.c.covered_at.is_(None))
    return int((await session.execute(q)).scalar_one())
