"""Dual notifications (双告知): reading, acknowledging, reminding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (DateTime, Text, and_, any_, bindparam, exists, func, not_, or_, select, text, true, tuple_,
                        update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import Query
from jsp_common.schedule_feed import Moved, counted_through

from .tables import entities, notifications


def superseded():
    """A notice that the department must now supervise the entity, moot since: a later notice to the department
    about the entity was issued (its responsibility ended, the entity closed, or it was told anew), or the entity's
    current record no longer names the department (an import moved the entity, telling no one). So neither overdue
    nor reminded, whether or not the department acknowledged it; the department's later notice is the live one."""
    return and_(notifications.c.kind == "new_responsibility", or_(
        notifications.c.superseded_at.is_not(None),
        not_(exists().where(entities.c.uscc == notifications.c.uscc,
                            notifications.c.department == any_(entities.c.departments)))))


# The new-responsibility notices a later notice to the same department about the same entity supersedes: given,
# per (entity, department), the last notice issued.
_SUPERSEDE = Query(text(
    "UPDATE notifications AS n SET superseded_at = v.issued_at "
    "FROM unnest(:usccs, :departments, :ids, :issued) AS v(uscc, department, id, issued_at) "
    "WHERE n.uscc = v.uscc AND n.department = v.department AND n.id <> v.id AND n.kind = 'new_responsibility' "
    "AND n.superseded_at IS NULL").bindparams(
    bindparam("usccs", type_=ARRAY(Text)), bindparam("departments", type_=ARRAY(Text)),
    bindparam("ids", type_=ARRAY(Text)), bindparam("issued", type_=ARRAY(DateTime(timezone=True)))))


async def supersede_earlier(session: AsyncSession, issued: Sequence[Mapping[str, Any]]) -> None:
    """``issued`` (notification rows, in the order issued) supersede the earlier new-responsibility notices to
    their departments about their entities, earlier ones among them too."""
    last = list({(n["uscc"], n["department"]): n for n in issued}.values())
    await _SUPERSEDE.all(session, usccs=[n["uscc"] for n in last], departments=[n["department"] for n in last],
                         ids=[n["id"] for n in last], issued=[n["issued_at"] for n in last])


def overdue_condition(now: datetime):
    """The notifications that are overdue at ``now`` (``domain.acknowledgement.is_overdue`` in SQL)."""
    return and_(notifications.c.acknowledged_at.is_(None),
                or_(notifications.c.overdue_since.is_not(None), notifications.c.acknowledge_by < now),
                not_(superseded()))


def _with_superseded(q):
    return q.add_columns(superseded().label("superseded"))


async def one(session: AsyncSession, notification_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    q = _with_superseded(select(notifications)).where(notifications.c.id == notification_id)
    if lock:
        q = q.with_for_update(of=notifications)
    row = (await session.execute(q)).first()
    return dict(row._mapping) if row else None


async def search(session: AsyncSession, *, department: str | None, uscc: str | None, acknowledged: bool | None,
                 overdue: bool | None, now: datetime, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """A page of notifications, newest first, and how many there are."""
    where = []
    if department:
        where.append(notifications.c.department == department)
    if uscc:
        where.append(notifications.c.uscc == uscc)
    if acknowledged is not None:
        where.append(notifications.c.acknowledged_at.is_not(None) if acknowledged
                     else notifications.c.acknowledged_at.is_(None))
    if overdue is not None:
        where.append(overdue_condition(now) if overdue else not_(overdue_condition(now)))
    cond = and_(*where) if where else true()
    total = (await session.execute(select(func.count()).select_from(notifications).where(cond))).scalar_one()
    rows = (await session.execute(_with_superseded(select(notifications)).where(cond)
                                  .order_by(notifications.c.issued_at.desc(), notifications.c.id)
                                  .limit(limit).offset(offset))).all()
    return total, [dict(r._mapping) for r in rows]


async def acknowledge(session: AsyncSession, notification_id: str, *, by: str, now: datetime) -> None:
    await session.execute(update(notifications).where(notifications.c.id == notification_id)
                          .values(acknowledged_at=now, acknowledged_by=by))


async def remind_due(session: AsyncSession, *, now: datetime, next_at: datetime, limit: int) -> list:
    """Count a reminder on up to ``limit`` unacknowledged notifications whose reminder is due (locked ones are
    another replica's), mark them overdue and set their next reminder; their rows after the update. Not a
    superseded one (its department no longer supervises the entity: reminding it daily to acknowledge supervising
    it is noise)."""
    due = (select(notifications.c.id).where(notifications.c.acknowledged_at.is_(None),
                                            notifications.c.next_reminder_at < now, not_(superseded()))
           .order_by(notifications.c.next_reminder_at).limit(limit).with_for_update(skip_locked=True))
    return (await session.execute(
        update(notifications).where(notifications.c.id.in_(due.scalar_subquery())).values(
            reminder_count=notifications.c.reminder_count + 1, last_reminded_at=now, next_reminder_at=next_at,
            overdue_since=func.coalesce(notifications.c.overdue_since, now))
        .returning(notifications))).all()


async def to_recount(session: AsyncSession, *, after: tuple[datetime, str] | None, limit: int, moved: Moved
                     ) -> list[dict[str, Any]]:
    """The notifications to count again (with ``superseded``), in (issued_at, id) order after ``after``, locked (one
    another transaction holds is waited for: skipped, a final time would never be counted again): every one whose
    acknowledge-by time is provisional, and the live unacknowledged ones whose time was counted through a ``moved``
    span (an acknowledged or superseded notice's final time no longer matters to anyone)."""
    q = _with_superseded(select(notifications)).where(or_(
        notifications.c.acknowledge_by_provisional,
        and_(notifications.c.acknowledged_at.is_(None), not_(superseded()),
             counted_through(notifications.c.issued_at, notifications.c.acknowledge_by, moved))))
    if after is not None:
        q = q.where(tuple_(notifications.c.issued_at, notifications.c.id) > tuple_(*after))
    q = (q.order_by(notifications.c.issued_at, notifications.c.id).limit(limit)
         .with_for_update(of=notifications))
    return [dict(r._mapping) for r in (await session.execute(q)).all()]


async def set_acknowledge_by(session: AsyncSession, notification_id: str, *, acknowledge_by: datetime,
                             provisional: bool) -> None:
    """The acknowledge-by time alone (of a notification no reminder runs against)."""
    await session.execute(update(notifications).where(notifications.c.id == notification_id).values(
        acknowledge_by=acknowledge_by, acknowledge_by_provisional=provisional))


async def set_due(session: AsyncSession, notification_id: str, *, acknowledge_by: datetime, provisional: bool,
                  next_reminder_at: datetime | None, overdue_since: datetime | None) -> None:
    await session.execute(update(notifications).where(notifications.c.id == notification_id).values(
        acknowledge_by=acknowledge_by, acknowledge_by_provisional=provisional, next_reminder_at=next_reminder_at,
        overdue_since=overdue_since))
