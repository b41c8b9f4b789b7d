"""Plans, joint tasks, draws, targets and results (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import dicts
from jsp_common.schedule_feed import Moved, counted_through

from .tables import draw_records, draws, plans, results, targets, tasks

# The key of the lock draws are performed under, one at a time (an advisory lock of this service's database).
_DRAWS_IN_TURN = 0x4A5350_4452415753  # "JSP" "DRAWS"
# The key of the lock publications take their moment in the public feed under.
_FEED_IN_TURN = 0x4A5350_46454544  # "JSP" "FEED"


def _one(row) -> dict | None:
    return dict(row) if row else None


# ------------------------------------------------------------------ plans
async def add_plan(session: AsyncSession, values: dict[str, Any]) -> dict:
    return dict((await session.execute(insert(plans).values(**values).returning(plans))).mappings().one())


async def plan(session: AsyncSession, plan_id: str) -> dict | None:
    return _one((await session.execute(select(plans).where(plans.c.id == plan_id))).mappings().first())


async def plans_by_id(session: AsyncSession, ids: list[str], *, for_update: bool = False) -> list[dict]:
    q = select(plans).where(plans.c.id.in_(ids)).order_by(plans.c.id)
    return dicts(await session.execute(q.with_for_update() if for_update else q))


async def list_plans(session: AsyncSession, *, department: str | None, matter_code: str | None, limit: int,
                     offset: int) -> list[dict]:
    q = select(plans)
    if department:
        q = q.where(plans.c.department == department)
    if matter_code:
        q = q.where(plans.c.matter_code == matter_code)
    rows = await session.execute(q.order_by(plans.c.created_at.desc(), plans.c.id).limit(limit).offset(offset))
    return dicts(rows)


async def plans_in_tasks(session: AsyncSession, ids: list[str]) -> list[str]:
    """Which of ``ids`` already belong to a joint task."""
    q = select(func.unnest(tasks.c.plan_ids).label("p")).where(tasks.c.plan_ids.overlap(ids))
    return sorted(set((await session.execute(q)).scalars()) & set(ids))


# ------------------------------------------------------------------ tasks
async def add_task(session: AsyncSession, values: dict[str, Any]) -> dict:
    return dict((await session.execute(insert(tasks).values(**values).returning(tasks))).mappings().one())


async def task(session: AsyncSession, task_id: str, *, for_update: bool = False) -> dict | None:
    q = select(tasks).where(tasks.c.id == task_id)
    return _one((await session.execute(q.with_for_update() if for_update else q)).mappings().first())


async def list_tasks(session: AsyncSession, *, department: str | None, limit: int, offset: int) -> list[dict]:
    q = select(tasks)
    if department:
        q = q.where(tasks.c.departments.any(department))
    rows = await session.execute(q.order_by(tasks.c.created_at.desc(), tasks.c.id).limit(limit).offset(offset))
    return dicts(rows)


# ------------------------------------------------------------------ draws
async def add_draw(session: AsyncSession, values: dict[str, Any]) -> dict:
    return dict((await session.execute(insert(draws).values(**values).returning(draws))).mappings().one())


async def draw(session: AsyncSession, draw_id: str, *, for_update: bool = False) -> dict | None:
    q = select(draws).where(draws.c.id == draw_id)
    return _one((await session.execute(q.with_for_update() if for_update else q)).mappings().first())


async def live_draw(session: AsyncSession, task_id: str) -> dict | None:
    q = select(draws).where(draws.c.task_id == task_id, draws.c.status.in_(("announced", "performed")))
    return _one((await session.execute(q)).mappings().first())


async def in_turn(session: AsyncSession) -> None:
    """Wait until no other draw is being performed, then hold the turn until this transaction ends: a draw reads
    the targets every other draw has committed (the yearly cap per entity, the inspectors' loads)."""
    await session.execute(select(func.pg_advisory_xact_lock(_DRAWS_IN_TURN)))


async def draws_of(session: AsyncSession, task_id: str) -> list[dict]:
    q = select(draws.c.id, draws.c.seed_hash, draws.c.status, draws.c.reason, draws.c.announced_at,
               draws.c.closed_at, draws.c.actor).where(draws.c.task_id == task_id).order_by(draws.c.announced_at)
    return dicts(await session.execute(q))


async def close_draw(session: AsyncSession, draw_id: str, *, status: str, at: datetime, reason: str | None = None,
                     record: dict | None = None, rendered: bytes | None = None) -> None:
    """Closed with its ``record`` and the public record ``rendered`` (the JSON bytes served), or, without them,
    keeping those it has (a performed draw abandoned)."""
    await session.execute(update(draws).where(draws.c.id == draw_id).values(
        status=status, closed_at=at, reason=reason, **({"record": record} if record is not None else {})))
    if rendered is not None:
        await session.execute(insert(draw_records).values(draw_id=draw_id, rendered=rendered))


async def public_head(session: AsyncSession, draw_id: str) -> dict | None:
    """A draw without its record: whether it has one (``has_record``), and how many bytes its rendered record is
    (``rendered_size``; None: not kept rendered, a draw closed before they were)."""
    q = (select(*(c for c in draws.c if c.name != "record"), draws.c.record.is_not(None).label("has_record"),
                func.octet_length(draw_records.c.rendered).label("rendered_size"))
         .select_from(draws.outerjoin(draw_records, draw_records.c.draw_id == draws.c.id))
         .where(draws.c.id == draw_id))
    return _one((await session.execute(q)).mappings().first())


async def rendered_slice(session: AsyncSession, draw_id: str, start: int, length: int) -> bytes:
    """``length`` bytes of a draw's rendered record from ``start`` (0-based; fewer at the end). Stored out of line
    uncompressed, the database reads that slice only."""
    q = select(func.substring(draw_records.c.rendered, start + 1, length)).where(draw_records.c.draw_id == draw_id)
    return (await session.execute(q)).scalar_one_or_none() or b""


# ------------------------------------------------------------------ targets
async def add_targets(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(targets), rows)


async def remove_targets(session: AsyncSession, task_id: str) -> None:
    await session.execute(delete(targets).where(targets.c.task_id == task_id))


async def targets_of(session: AsyncSession, task_id: str, *, department: str | None = None) -> list[dict]:
    q = select(targets).where(targets.c.task_id == task_id)
    if department:
        q = q.where(targets.c.departments.any(department))
    return dicts(await session.execute(q.order_by(targets.c.uscc)))


async def target(session: AsyncSession, task_id: str, uscc: str, *, for_update: bool = False) -> dict | None:
    q = select(targets).where(targets.c.task_id == task_id, targets.c.uscc == uscc)
    return _one((await session.execute(q.with_for_update() if for_update else q)).mappings().first())


async def lock_targets(session: AsyncSession, task_id: str) -> None:
    """Every target of the task locked, in USCC order (results are recorded under a target's lock)."""
    await session.execute(select(targets.c.uscc).where(targets.c.task_id == task_id).order_by(targets.c.uscc)
                          .with_for_update())


async def any_result(session: AsyncSession, task_id: str) -> bool:
    q = select(targets.c.uscc).where(targets.c.task_id == task_id, targets.c.recorded_at.is_not(None)).limit(1)
    return (await session.execute(q)).first() is not None


async def set_target(session: AsyncSession, task_id: str, uscc: str, **values: Any) -> None:
    await session.execute(update(targets).where(targets.c.task_id == task_id, targets.c.uscc == uscc).values(**values))


# ------------------------------------------------------------------ results
async def add_results(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(results), rows)


async def results_of(session: AsyncSession, task_id: str, uscc: str) -> list[dict]:
    q = select(results).where(results.c.task_id == task_id, results.c.uscc == uscc).order_by(results.c.item_code)
    return dicts(await session.execute(q))


async def inspected(session: AsyncSession, matter_code: str, items: list[str], start: date, end: date,
                    outcomes: Iterable[str]) -> list[tuple[str, str, date]]:
    """(USCC, item, the latest day inspected in [start, end]) of the matter's items with a recorded result whose
    outcome is one of ``outcomes``: an item is its matter's (another matter may use the same code for another
    item)."""
    if not items:
        return []
    q = (select(results.c.uscc, results.c.item_code, func.max(results.c.inspected_on))
         .join(tasks, tasks.c.id == results.c.task_id)
         .where(tasks.c.matter_code == matter_code, results.c.item_code.in_(items),
                results.c.inspected_on.between(start, end), results.c.outcome.in_(sorted(str(o) for o in outcomes)))
         .group_by(results.c.uscc, results.c.item_code).order_by(results.c.uscc, results.c.item_code))
    return [(u, i, d) for u, i, d in (await session.execute(q)).all()]


# ------------------------------------------------------------------ publication
async def feed_moment(session: AsyncSession, now: datetime) -> datetime:
    """The moment a publication enters the public feed, after every publication before it: publications take
    turns (a lock held until this transaction ends), each later than the latest one published, so a reader
    paging the feed by time never passes over a publication that committed after one it has read."""
    await session.execute(select(func.pg_advisory_xact_lock(_FEED_IN_TURN)))
    latest = (await session.execute(select(func.max(targets.c.published_at)))).scalar()
    return now if latest is None or now > latest else latest + timedelta(microseconds=1)


async def published(session: AsyncSession, *, since: datetime | None, limit: int) -> list[dict]:
    q = select(targets, tasks.c.matter_code, tasks.c.lead_department).join(tasks, tasks.c.id == targets.c.task_id) \
        .where(targets.c.published_at.is_not(None))
    if since:
        q = q.where(targets.c.published_at > since)
    rows = await session.execute(q.order_by(targets.c.published_at, targets.c.uscc).limit(limit))
    return dicts(rows)


async def overdue(session: AsyncSession, today: date, *, limit: int, offset: int = 0) -> list[dict]:
    q = (select(targets, tasks.c.matter_code, tasks.c.lead_department).join(tasks, tasks.c.id == targets.c.task_id)
         .where(targets.c.published_at.is_(None), targets.c.due_on < today)
         .order_by(targets.c.due_on, targets.c.task_id, targets.c.uscc).limit(limit).offset(offset))
    return dicts(await session.execute(q))




async def dues_to_recount(session: AsyncSession, *, after: tuple | None, limit: int, moved: Moved) -> list[dict]:
    """Targets whose publication deadline is provisional (published or not), and unpublished ones whose deadline
    is counted through a ``moved`` span, in (inspected_on, task_id, uscc) order after ``after``, locked (one another
    transaction holds is waited for: skipped, a final deadline would never be counted again)."""
    key = (targets.c.inspected_on, targets.c.task_id, targets.c.uscc)
    q = (select(targets, tasks.c.lead_department).join(tasks, tasks.c.id == targets.c.task_id)
         .where(targets.c.due_on.is_not(None), or_(targets.c.due_provisional, and_(
             targets.c.published_at.is_(None), counted_through(targets.c.inspected_on, targets.c.due_on, moved)))))
    if after is not None:
        q = q.where(tuple_(*key) > tuple_(*after))
    q = q.order_by(*key).limit(limit).with_for_update(of=targets)
    return dicts(await session.execute(q))
