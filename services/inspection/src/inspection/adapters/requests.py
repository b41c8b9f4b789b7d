"""The must-inspect list: targeted inspections risk alerts asked for, each department asked answering for its
part (SQLAlchemy Core, in the caller's transaction)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, exists, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.clock import TZ
from jsp_common.db import dicts

from .directory import _filter
from .tables import entities, inspection_request_departments as parts, inspection_requests as requests

FIELDS = [c.name for c in requests.c]


async def add(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record requests, a part for each department asked; one already recorded (a redelivered event) is left
    as it is."""
    if rows:
        await session.execute(pg_insert(requests).values(rows).on_conflict_do_nothing(index_elements=["request_id"]))
        await session.execute(pg_insert(parts).values([{"request_id": r["request_id"], "department": d}
                                                       for r in rows for d in sorted(set(r["departments"]))])
                              .on_conflict_do_nothing(index_elements=["request_id", "department"]))


def _in_state(rows, state: str):
    """``rows`` (parts) in ``state``: open (no task took it in), planned (a task's draw did), covered."""
    if state == "open":
        return and_(rows.c.covered_at.is_(None), rows.c.task_id.is_(None))
    if state == "planned":
        return and_(rows.c.covered_at.is_(None), rows.c.task_id.is_not(None))
    return rows.c.covered_at.is_not(None)


def _any_part(state: str):
    p = parts.alias("p")
    return exists().where(p.c.request_id == requests.c.request_id, _in_state(p, state))


async def listing(session: AsyncSession, *, department: str | None, state: str | None, limit: int,
                  offset: int) -> list[dict]:
    """A department's requests with its part's state (``task_id``, ``covered_at``); for the office (no
    ``department``) every request, in the state of its least advanced part (open, then planned, then covered),
    covered when every part is. Each with its ``parts``."""
    if department:
        q = select(requests, parts.c.task_id, parts.c.covered_at).join(
            parts, and_(parts.c.request_id == requests.c.request_id, parts.c.department == department))
        if state:
            q = q.where(_in_state(parts, state))
    else:
        q = select(requests)
        if state == "open":
            q = q.where(_any_part("open"))
        elif state == "planned":
            q = q.where(~_any_part("open"), _any_part("planned"))
        elif state == "covered":
            q = q.where(~_any_part("open"), ~_any_part("planned"))
    rows = dicts(await session.execute(q.order_by(requests.c.requested_at.desc(), requests.c.request_id)
                                       .limit(limit).offset(offset)))
    of: dict[str, list[dict]] = {}
    if rows:
        got = await session.execute(select(parts).where(parts.c.request_id.in_([r["request_id"] for r in rows]))
                                    .order_by(parts.c.request_id, parts.c.department))
        for p in dicts(got):
            of.setdefault(p.pop("request_id"), []).append(p)
    for r in rows:
        r["parts"] = of.get(r["request_id"], [])
        if not department:
            covered = [p["covered_at"] for p in r["parts"]]
            r["task_id"] = None
            r["covered_at"] = max(covered) if covered and None not in covered else None
    return rows


async def open_for_plan(session: AsyncSession, department: str, f: dict[str, Any]) -> list[dict]:
    """Open parts (not taken in by a task yet) of requests asking ``department`` about an entity its plan's
    filter covers, locked until the caller's transaction ends (another draw skips them). The yearly cap on
    inspections per entity does not apply: it limits the random draws, and a risk alert's request for a visit is
    answered even for an entity they visited enough this year (the visit counts towards the cap)."""
    q = (select(requests.c.request_id, requests.c.uscc, requests.c.requested_at)
         .join(parts, parts.c.request_id == requests.c.request_id)
         .join(entities, entities.c.uscc == requests.c.uscc)
         .where(parts.c.department == department, _in_state(parts, "open"), _filter(f))
         .order_by(requests.c.request_id).with_for_update(of=parts, skip_locked=True))
    return dicts(await session.execute(q))


async def take_in(session: AsyncSession, taken: Iterable[tuple[str, str]], task_id: str) -> None:
    """The (request, department) parts ``taken`` are planned in the task."""
    keys = sorted(set(taken))
    if keys:
        await session.execute(update(parts).where(tuple_(parts.c.request_id, parts.c.department).in_(keys))
                              .values(task_id=task_id))


async def release(session: AsyncSession, task_id: str, *, visits: Iterable[tuple[str, str]] = (),
                  uscc: str | None = None) -> None:
    """The task's parts not covered (at ``uscc`` only, if given), but those whose entity the task visits with the
    department's items (``visits``: (USCC, department)), are open again, for a later draw: all of them when its
    draw was refused or abandoned, those it left out when it was performed (the department's items were inspected
    there since the request, say), those a published visit did not answer."""
    kept = set(visits)
    q = (select(parts.c.request_id, parts.c.department, requests.c.uscc)
         .join(requests, requests.c.request_id == parts.c.request_id)
         .where(parts.c.task_id == task_id, parts.c.covered_at.is_(None)))
    if uscc is not None:
        q = q.where(requests.c.uscc == uscc)
    out = sorted((r, d) for r, d, u in (await session.execute(q)).all() if (u, d) not in kept)
    if out:
        await session.execute(update(parts).where(tuple_(parts.c.request_id, parts.c.department).in_(out))
                              .values(task_id=None))


async def cover(session: AsyncSession, uscc: str, inspected: Mapping[str, date], at: datetime) -> int:
    """A result was published for the entity, where each of ``inspected``'s departments inspected (on the day
    given, its last): their parts of every request about it made on an earlier day are covered (as recognition
    counts a result against a request; another department asked still answers for its own)."""
    covered = 0
    for department, day in sorted(inspected.items()):
        before = select(requests.c.request_id).where(
            requests.c.uscc == uscc, requests.c.requested_at < datetime.combine(day, time(0), TZ))
        res = await session.execute(update(parts).where(
            parts.c.request_id.in_(before), parts.c.department == department, parts.c.covered_at.is_(None))
            .values(covered_at=at))
        covered += res.rowcount or 0
    return covered


async def count_open(session: AsyncSession) -> int:
    """Requests a department asked has not answered yet."""
    q = select(func.count(func.distinct(parts.c.request_id))).where(parts.c.covered_at.is_(None))
    return int((await session.execute(q)).scalar_one())
