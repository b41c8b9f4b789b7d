"""Reading and writing risk alerts and their history (SQLAlchemy Core, in the caller's transaction). Rows are plain
dicts by column name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, bindparam, func, insert, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import all_rows, first_row
from jsp_common.schedule_feed import Moved, counted_through

from ..domain.alerts import UNANSWERED
from .tables import alert_history, alerts, entities


async def alerts_of_many(session: AsyncSession, usccs: list[str]) -> tuple[dict[str, dict], dict[tuple[str, str], dict]]:
    """For many entities: their open alerts (locked), and their latest alert at each level (cool-down)."""
    arr = bindparam("usccs", usccs, type_=ARRAY(Text))
    q = select(alerts).where(alerts.c.uscc == func.any(arr), alerts.c.state != "closed").with_for_update()
    opened = {r["uscc"]: r for r in await all_rows(session, q)}
    q = (select(alerts).where(alerts.c.uscc == func.any(arr))
         .order_by(alerts.c.uscc, alerts.c.level, alerts.c.raised_at.desc())
         .distinct(alerts.c.uscc, alerts.c.level))
    latest = {(r["uscc"], r["level"]): r for r in await all_rows(session, q)}
    return opened, latest


async def open_alert(session: AsyncSession, uscc: str) -> dict | None:
    q = select(alerts).where(alerts.c.uscc == uscc, alerts.c.state != "closed")
    return await first_row(session, q, for_update=True)


async def last_alert_at_level(session: AsyncSession, uscc: str, level: str) -> dict | None:
    q = (select(alerts).where(alerts.c.uscc == uscc, alerts.c.level == level)
         .order_by(alerts.c.raised_at.desc()).limit(1))
    return await first_row(session, q)


async def insert_alert(session: AsyncSession, values: dict) -> None:
    await session.execute(insert(alerts).values(**values))


async def update_alert(session: AsyncSession, alert_id: str, **values: Any) -> None:
    await session.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))


async def get_alert(session: AsyncSession, alert_id: str, *, for_update: bool = False) -> dict | None:
    return await first_row(session, select(alerts).where(alerts.c.id == alert_id), for_update=for_update)


async def list_alerts(session: AsyncSession, *, department: str | None, level: str | None, state: str | None,
                      uscc: str | None, limit: int, offset: int) -> list[dict]:
    q = select(alerts)
    if department:
        q = q.where(alerts.c.departments.any(department))
    if level:
        q = q.where(alerts.c.level == level)
    if state == "unclosed":
        q = q.where(alerts.c.state != "closed")
    elif state:
        q = q.where(alerts.c.state == state)
    if uscc:
        q = q.where(alerts.c.uscc == uscc)
    q = q.order_by(alerts.c.raised_at.desc(), alerts.c.id).limit(limit).offset(offset)
    return await all_rows(session, q)


async def due_alerts(session: AsyncSession, now: datetime, limit: int = 500) -> list[dict]:
    """Alerts whose plan escalates, unanswered past their deadline, not yet escalated; locked for this scan."""
    q = (select(alerts).where(alerts.c.escalate, alerts.c.escalated_at.is_(None),
                              alerts.c.state.in_(sorted(UNANSWERED)), alerts.c.respond_by < now)
         .order_by(alerts.c.respond_by).limit(limit).with_for_update(skip_locked=True))
    return await all_rows(session, q)


async def alerts_to_recount(session: AsyncSession, *, after: tuple[datetime, str] | None, limit: int,
                            moved: Moved) -> list[dict]:
    """The alerts to count again, in (raised_at, id) order after ``after``, locked (one another transaction holds is
    waited for: skipped, a final deadline would never be counted again): every one whose response deadline is
    provisional, and the unanswered ones whose deadline in working days was counted through a ``moved`` span (an
    answered or closed alert's final deadline no longer matters to anyone)."""
    key = (alerts.c.raised_at, alerts.c.id)
    q = select(alerts).where(or_(
        alerts.c.respond_by_provisional,
        and_(alerts.c.state.in_(sorted(UNANSWERED)), alerts.c.respond_within_workdays.is_not(None),
             counted_through(alerts.c.raised_at, alerts.c.respond_by, moved))))
    if after is not None:
        q = q.where(tuple_(*key) > tuple_(*after))
    q = q.order_by(*key).limit(limit).with_for_update()
    return await all_rows(session, q)


async def add_alert_history(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(alert_history).values(**values))


# The open alerts of a poll's entities whose responsible departments (the replica's) they do not all name yet:
# each takes them in (locked in USCC order), with the departments it names before and after. Not an alert whose
# plan notifies no department (raised for none: the model's choice holds).
_FOLLOW_RESPONSIBILITY = text(f"""
WITH moved AS (
    SELECT a.id, a.departments AS before,
           ARRAY(SELECT DISTINCT d FROM unnest(a.departments || e.responsible_departments) AS d ORDER BY d) AS after
    FROM alerts a JOIN {entities.name} e ON e.uscc = a.uscc
    WHERE a.uscc = ANY(:usccs) AND a.state <> 'closed' AND NOT (e.responsible_departments <@ a.departments)
      AND 'notify_departments' = ANY(a.actions)
    ORDER BY a.uscc FOR UPDATE OF a)
UPDATE alerts SET departments = moved.after FROM moved WHERE alerts.id = moved.id
RETURNING alerts.*, moved.before""").bindparams(bindparam("usccs", type_=ARRAY(Text)))


async def follow_responsibility(session: AsyncSession, usccs: list[str], at: datetime) -> list[dict]:
    """The entities' open alerts name the departments now responsible for them too (the registry moved an
    entity: its new department sees and answers the alert); each change kept in the alert's history. Returns
    the alerts changed, as they are now, each with ``added``: the departments it names from now on."""
    changed = [{**r, "added": sorted(set(r["departments"]) - set(r.pop("before")))}
               for r in (dict(m) for m in (await session.execute(_FOLLOW_RESPONSIBILITY, {"usccs": usccs})).mappings())]
    if changed:
        await session.execute(insert(alert_history), [
            {"alert_id": r["id"], "at": at, "action": "departments_added", "actor": "registry", "department": None,
             "details": {"added": r["added"]}} for r in changed])
    return changed


async def alert_history_of(session: AsyncSession, alert_id: str) -> list[dict]:
    q = select(alert_history).where(alert_history.c.alert_id == alert_id).order_by(alert_history.c.id)
    return await all_rows(session, q)
