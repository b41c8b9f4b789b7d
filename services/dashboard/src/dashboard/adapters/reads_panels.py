"""The risk and inspection panels' queries: risk alerts (by level, unanswered, escalated) and the joint
inspections' planned visits (planned, overdue: the task's period over without a result; results awaiting
publication, and past their publication deadline).
``department`` limits a query to one department's items (None: the office)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from .reads import page
from .tables import inspection_results, inspection_targets, risk_alerts

ra, it, ir = risk_alerts.c, inspection_targets.c, inspection_results.c
LEVELS = ("blue", "yellow", "orange", "red")


def alert_scope(department: str | None):
    return true() if department is None else ra.departments.any(department)


def target_scope(department: str | None):
    """The visits a department inspects, and those of the joint tasks it leads (it publishes their results, as the
    inspection service shows it)."""
    return true() if department is None else or_(it.departments.any(department), it.lead_department == department)


def _target_departments():
    """A visit's departments for the department table: those inspecting there, and the lead of its task."""
    return case((it.departments.any(it.lead_department), it.departments),
                else_=func.array_append(it.departments, it.lead_department))


def unclosed():
    return ra.closed_at.is_(None)


def unanswered():
    """Raised and not answered yet (acknowledged or not, escalated or not)."""
    return and_(ra.closed_at.is_(None), ra.responded_at.is_(None))


def published():
    return select(literal(1)).where(ir.task_id == it.task_id, ir.uscc == it.uscc).exists()


def planned(today: date):
    """Not visited yet (no result recorded) within the task's period."""
    return and_(~published(), it.inspected_on.is_(None), it.period_end >= today)


def overdue_target(today: date):
    """The task's period is over and no result was recorded there."""
    return and_(~published(), it.inspected_on.is_(None), it.period_end < today)


def awaiting_publication(today: date):
    """Results recorded, not published, the publication deadline not passed (the last day still counts)."""
    return and_(~published(), it.publish_by >= today)


def publication_overdue(today: date):
    """Results recorded and not published by their deadline (一公开 within working days of the inspection)."""
    return and_(~published(), it.publish_by < today)


ALERT_STATUS = {"open": unclosed, "unanswered": unanswered,
                "escalated": lambda: and_(ra.closed_at.is_(None), ra.escalated_at.is_not(None)),
                "closed": lambda: ra.closed_at.is_not(None), "all": true}
TARGET_STATUS = {"planned": planned, "overdue": overdue_target, "awaiting": awaiting_publication,
                 "publication_overdue": publication_overdue, "all": lambda today: true()}


async def alert_figures(session: AsyncSession, department: str | None, by: str) -> dict:
    """Unclosed alerts per level, unanswered and escalated ones, by ``department`` (every department an
    alert names counts it) or by ``city``."""
    key = func.unnest(ra.departments) if by == "department" else ra.city_code
    s = (select(key.label("k"), ra.level, ra.responded_at, ra.escalated_at)
         .where(alert_scope(department), unclosed()).subquery())
    cols = {f"alerts_{lv}": func.count().filter(s.c.level == lv) for lv in LEVELS}
    cols |= {"alerts_open": func.count(), "alerts_unanswered": func.count().filter(s.c.responded_at.is_(None)),
             "alerts_escalated": func.count().filter(s.c.escalated_at.is_not(None))}
    return await _rows(session, select(s.c.k, *[v.label(k) for k, v in cols.items()]).group_by(s.c.k), cols)


async def target_figures(session: AsyncSession, department: str | None, by: str, today: date) -> dict:
    """Planned visits without a published result: not visited within their task's period (planned) or past
    it (overdue); visited, results awaiting publication (awaiting) or past their publication deadline
    (publication_overdue); by ``department`` (every department inspecting there, and the task's lead) or by
    ``city``."""
    key = func.unnest(_target_departments()) if by == "department" else it.city_code
    s = (select(key.label("k"), it.period_end, it.publish_by, it.inspected_on)
         .where(target_scope(department), ~published()).subquery())
    visited = s.c.inspected_on.is_not(None)
    cols = {"inspections_planned": func.count().filter(~visited, s.c.period_end >= today),
            "inspections_overdue": func.count().filter(~visited, s.c.period_end < today),
            "inspections_awaiting": func.count().filter(s.c.publish_by >= today),
            "inspections_publication_overdue": func.count().filter(s.c.publish_by < today)}
    return await _rows(session, select(s.c.k, *[v.label(k) for k, v in cols.items()]).group_by(s.c.k), cols)


async def _rows(session: AsyncSession, q, cols: dict) -> dict:
    rows = (await session.execute(q)).mappings().all()
    return {r["k"]: {k: int(r[k] or 0) for k in cols} for r in rows}


async def alert_list(session: AsyncSession, department: str | None, where, *, limit: int, offset: int):
    cond = and_(alert_scope(department), where)
    order = (ra.closed_at.is_not(None), func.array_position(list(LEVELS[::-1]), ra.level), ra.raised_at.desc(),
             ra.alert_id)
    return await page(session, select(risk_alerts).where(cond).order_by(*order),
                      select(func.count()).select_from(risk_alerts).where(cond), limit=limit, offset=offset)


async def target_list(session: AsyncSession, department: str | None, where, *, limit: int, offset: int):
    cond = and_(target_scope(department), where)
    return await page(session, select(inspection_targets, published().label("published")).where(cond)
                      .order_by(it.period_end, it.task_id, it.uscc),
                      select(func.count()).select_from(inspection_targets).where(cond), limit=limit, offset=offset)


def search_alerts(q: str, like: str):
    return or_(ra.entity_name.like(like), ra.uscc == q.upper(), ra.alert_id == q)


def search_targets(q: str, like: str):
    return or_(it.entity_name.like(like), it.uscc == q.upper(), it.task_id == q, it.matter_code == q)



async def about_entity(session: AsyncSession, uscc: str, department: str | None) -> dict[str, list[dict]]:
    """One entity's risk alerts (newest first) and joint-inspection visits (latest period first), scoped."""
    alerts = select(risk_alerts).where(alert_scope(department), ra.uscc == uscc).order_by(ra.raised_at.desc())
    visits = (select(inspection_targets).where(target_scope(department), it.uscc == uscc)
              .order_by(it.period_end.desc(), it.task_id))
    return {"alerts": [dict(r) for r in (await session.execute(alerts)).mappings().all()],
            "visits": [dict(r) for r in (await session.execute(visits)).mappings().all()]}
