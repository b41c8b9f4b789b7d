"""Every query the pages make on the read model. ``department`` limits a query to one department's items
(None: the office, which sees all)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.events.risk import UNRATED_CLASS

from ..domain.clues import OPEN_STATES, TIMED_STATES
from .tables import (active_entity_tally, adjudication_cases, clue_alerts, clue_transitions, clues, credit_classes,
                     entities, entity_tally, inspection_results, notifications)

n, c, a, e, ir, ca, et, cc = (notifications.c, clues.c, adjudication_cases.c, entities.c, inspection_results.c,
                              clue_alerts.c, entity_tally.c, credit_classes.c)
at = active_entity_tally.c


# ---------------------------------------------------------------------------- scopes
def notification_scope(department: str | None):
    return true() if department is None else n.department == department


def clue_scope(department: str | None):
    return true() if department is None else or_(c.lead_department == department, c.co_departments.any(department))


def inspection_scope(department: str | None):
    """The results of the visits a department inspected, and those of the joint tasks it leads (it published them)."""
    return true() if department is None else or_(ir.departments.any(department), ir.lead_department == department)


def entity_scope(department: str | None):
    return true() if department is None else e.departments.any(department)


# An entity in operation (存续): supervised, counted in the figures. A deregistered or revoked one is closed.
ENTITY_STATUS = {"active": lambda: e.status == "active", "closed": lambda: e.status != "active", "all": true}


def pending():
    return n.acknowledged_at.is_(None)


def superseded():
    """A notice that the department must now supervise the entity, moot since: a later notice to the department
    about the entity arrived (its responsibility ended, the entity closed, or it was told anew: ``superseded_at``),
    or the entity's current record no longer names the department. Never overdue (the registry's rule,
    ``registry.adapters.notifications.superseded``; an entity whose record has not arrived yet is taken as still
    naming it)."""
    return and_(n.kind == "new_responsibility",
                or_(n.superseded_at.is_not(None), exists().where(e.uscc == n.uscc, ~e.departments.any(n.department))))


def overdue_notification(now: datetime):
    return and_(n.acknowledged_at.is_(None), n.acknowledge_by < now, ~superseded())


_LATER_CASE = adjudication_cases.alias("later_case")


def open_case():
    """Waiting for the office: neither decided nor withdrawn (registry.adjudication.withdrawn.v1), and no later
    case of the entity arrived (one is open at a time)."""
    later = exists().where(_LATER_CASE.c.uscc == a.uscc, _LATER_CASE.c.requested_at > a.requested_at)
    return and_(a.decided_at.is_(None), a.withdrawn_at.is_(None), ~later)


def open_clue():
    return c.state.in_(OPEN_STATES)


def overdue_clue(now: datetime):
    return and_(c.state.in_(TIMED_STATES), c.deadline < now)


def due_soon_clue(now: datetime, within: timedelta):
    return and_(c.state.in_(TIMED_STATES), c.deadline >= now, c.deadline < now + within)


def alerted(kind: str, department: str | None = None):
    cond = and_(ca.clue_id == c.clue_id, ca.kind == kind)
    if department is not None:
        cond = and_(cond, ca.department == department)
    return select(literal(1)).where(cond).exists()


# ---------------------------------------------------------------------------- figures
async def _grouped(session: AsyncSession, key, columns: dict[str, Any], where) -> dict[str | None, dict[str, int]]:
    rows = (await session.execute(select(key.label("k"), *[v.label(k) for k, v in columns.items()]).where(where)
                                  .group_by(key))).mappings().all()
    return {r["k"]: {k: int(r[k] or 0) for k in columns} for r in rows}


def count_if(cond):
    return func.count().filter(cond)


async def notification_figures(session: AsyncSession, department: str | None, now: datetime, by) -> dict:
    cols = {"notes_pending": func.count(), "notes_overdue": count_if(and_(n.acknowledge_by < now, ~superseded()))}
    return await _grouped(session, by, cols, and_(notification_scope(department), pending()))


async def adjudication_figures(session: AsyncSession, by_city: bool) -> dict:
    key = func.coalesce(e.city_code, "") if by_city else literal("all")
    rows = (await session.execute(
        select(key.label("k"), func.count().label("n"), func.min(a.requested_at).label("oldest"))
        .select_from(adjudication_cases.outerjoin(entities, e.uscc == a.uscc))
        .where(open_case()).group_by(key))).mappings().all()
    return {r["k"] or None: {"adjudication_open": r["n"], "adjudication_oldest": r["oldest"]} for r in rows}


async def inspection_figures(session: AsyncSession, department: str | None, by) -> dict:
    cols = {"inspections_published": func.count(), "inspections_problems": count_if(ir.problems_found)}
    return await _grouped(session, by, cols, inspection_scope(department))


async def inspection_figures_by_city(session: AsyncSession, department: str | None) -> dict:
    key = e.city_code
    rows = (await session.execute(
        select(key.label("k"), func.count().label("p"), func.count().filter(ir.problems_found).label("q"))
        .select_from(inspection_results.outerjoin(entities, e.uscc == ir.uscc))
        .where(inspection_scope(department)).group_by(key))).mappings().all()
    return {r["k"]: {"inspections_published": r["p"], "inspections_problems": r["q"]} for r in rows}


async def entity_figures(session: AsyncSession, department: str | None) -> dict:
    """Entities in operation per city, from the tally the triggers keep (a few thousand rows, not a million)."""
    rows = (await session.execute(select(at.city_code, func.sum(at.n)).where(at.department == (department or ""))
                                  .group_by(at.city_code))).all()
    return {city or None: {"entities": int(count)} for city, count in rows if count}


async def credit_figures(session: AsyncSession, department: str | None) -> dict:
    """Entities in operation of the higher-risk credit classes (C, D) per city."""
    cols = {"entities_class_c": func.count().filter(cc.credit_class == "C"),
            "entities_class_d": func.count().filter(cc.credit_class == "D")}
    rows = (await session.execute(select(e.city_code, *[v.label(k) for k, v in cols.items()])
                                  .select_from(credit_classes.join(entities, e.uscc == cc.uscc))
                                  .where(entity_scope(department), ENTITY_STATUS["active"](),
                                         cc.credit_class.in_(("C", "D")))
                                  .group_by(e.city_code))).mappings().all()
    return {r["city_code"]: {k: int(r[k]) for k in cols} for r in rows}


async def entity_weeks(session: AsyncSession, department: str | None, since) -> dict:
    """Entities per week first seen (those closed since too: the weeks' registrations)."""
    rows = (await session.execute(select(et.week, func.sum(et.n)).where(
        and_(et.department == (department or ""), et.week >= since)).group_by(et.week))).all()
    return {week: int(count) for week, count in rows}


async def weekly(session: AsyncSession, column, where, since: datetime) -> dict[datetime, int]:
    week = func.date_trunc("week", func.timezone("Asia/Shanghai", column))
    rows = (await session.execute(select(week, func.count()).where(and_(where, column >= since))
                                  .group_by(week))).all()
    return {w.date(): count for w, count in rows}


# ---------------------------------------------------------------------------- lists
async def page(session: AsyncSession, query, count_query, *, limit: int, offset: int) -> tuple[int, list[dict]]:
    total = (await session.execute(count_query)).scalar_one()
    rows = (await session.execute(query.limit(limit).offset(offset))).mappings().all()
    return total, [dict(r) for r in rows]


async def latest_entities(session: AsyncSession, department: str | None, limit: int) -> list[dict]:
    rows = (await session.execute(select(entities).where(entity_scope(department))
                                  .order_by(e.first_seen_at.desc()).limit(limit))).mappings().all()
    return [dict(r) for r in rows]


async def notification_list(session: AsyncSession, department: str | None, where, *, limit: int, offset: int):
    cond = and_(notification_scope(department), where)
    return await page(session, select(notifications, superseded().label("superseded")).where(cond)
                      .order_by(n.acknowledge_by, n.notification_id),
                      select(func.count()).select_from(notifications).where(cond), limit=limit, offset=offset)


async def notification(session: AsyncSession, notification_id: str) -> dict | None:
    row = (await session.execute(select(notifications, superseded().label("superseded"))
                                 .where(n.notification_id == notification_id))).mappings().first()
    return dict(row) if row else None


def search_clues(q: str, like: str):
    """A clue by its id or its channel's reference, or the clues about an entity by its USCC or its name."""
    return or_(c.clue_id == q, c.channel_ref == q, c.uscc == q.upper(),
               c.uscc.in_(select(e.uscc).where(e.name.like(like))))


def _clues_named():
    """Clues with the name of the entity each is about, when the directory holds it (``entity_name``)."""
    return select(clues, e.name.label("entity_name")).select_from(clues.outerjoin(entities, e.uscc == c.uscc))


async def clue_list(session: AsyncSession, department: str | None, where, *, limit: int, offset: int):
    cond = and_(clue_scope(department), where)
    order = (c.deadline.asc().nulls_last(), c.clue_id)
    return await page(session, _clues_named().where(cond).order_by(*order),
                      select(func.count()).select_from(clues).where(cond), limit=limit, offset=offset)


async def clue(session: AsyncSession, clue_id: str) -> dict | None:
    row = (await session.execute(_clues_named().where(c.clue_id == clue_id))).mappings().first()
    return dict(row) if row else None


async def clue_timeline(session: AsyncSession, clue_id: str) -> list[dict]:
    t = clue_transitions.c
    steps = (await session.execute(select(clue_transitions).where(t.clue_id == clue_id)
                                   .order_by(t.at, t.event_id))).mappings().all()
    return [dict(r) for r in steps]


async def clue_alert_list(session: AsyncSession, clue_id: str) -> list[dict]:
    rows = (await session.execute(select(clue_alerts).where(ca.clue_id == clue_id).order_by(ca.at))).mappings().all()
    return [dict(r) for r in rows]


async def adjudication_list(session: AsyncSession, *, limit: int, offset: int, city: str | None = None):
    cond = open_case()
    if city:
        cond = and_(cond, e.city_code == city)
    source = adjudication_cases.outerjoin(entities, e.uscc == a.uscc)
    return await page(session, select(adjudication_cases, e.city_code).select_from(source).where(cond)
                      .order_by(a.requested_at, a.case_id),
                      select(func.count()).select_from(source).where(cond), limit=limit, offset=offset)


async def inspection_list(session: AsyncSession, department: str | None, where, *, limit: int, offset: int):
    cond = and_(inspection_scope(department), where)
    source = inspection_results.outerjoin(entities, e.uscc == ir.uscc)
    return await page(session, select(inspection_results, e.city_code).select_from(source).where(cond)
                      .order_by(ir.published_at.desc(), ir.task_id, ir.uscc),
                      select(func.count()).select_from(source).where(cond), limit=limit, offset=offset)


def with_credit_class(credit_class: str):
    """Entities of a credit class; an entity with none published counts as ``UNRATED_CLASS``."""
    if credit_class == UNRATED_CLASS.value:
        return or_(cc.credit_class == credit_class, cc.credit_class.is_(None))
    return cc.credit_class == credit_class


async def entity_list(session: AsyncSession, department: str | None, where, *, limit: int, offset: int,
                      by_class: bool = False):
    """Entities with their credit class in force (``credit_class``, None: unrated). ``by_class``: ``where``
    names the class (the count needs the classes too)."""
    cond = and_(entity_scope(department), where)
    classed = entities.outerjoin(credit_classes, cc.uscc == e.uscc)
    return await page(session, select(entities, cc.credit_class).select_from(classed).where(cond)
                      .order_by(e.first_seen_at.desc(), e.uscc),
                      select(func.count()).select_from(classed if by_class else entities).where(cond),
                      limit=limit, offset=offset)


async def entity(session: AsyncSession, uscc: str) -> dict | None:
    row = (await session.execute(select(entities).where(e.uscc == uscc))).mappings().first()
    return dict(row) if row else None


async def about_entity(session: AsyncSession, uscc: str, department: str | None) -> dict[str, list[dict]]:
    """What the read model holds about one entity besides its record (scoped)."""
    out = {}
    out["notifications"] = [dict(r) for r in (await session.execute(
        select(notifications).where(and_(n.uscc == uscc, notification_scope(department)))
        .order_by(n.issued_at))).mappings().all()]
    out["clues"] = [dict(r) for r in (await session.execute(
        select(clues).where(and_(c.uscc == uscc, clue_scope(department))).order_by(c.received_at))).mappings().all()]
    out["inspections"] = [dict(r) for r in (await session.execute(
        select(inspection_results).where(and_(ir.uscc == uscc, inspection_scope(department)))
        .order_by(ir.published_at))).mappings().all()]
    return out
