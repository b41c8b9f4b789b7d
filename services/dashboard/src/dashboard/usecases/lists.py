"""The lists behind every figure (drill-down) and the items themselves, scoped to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.events.risk import CreditClass
from jsp_common.problems import Problem

from ..adapters import reads
from ..adapters import reads_panels as panels
from ..adapters.reads import c, e, ir, n
from ..settings import Settings

NOTIFICATION_STATUS = ("pending", "overdue", "acknowledged", "all")
ALERT_STATUS = tuple(panels.ALERT_STATUS)
TARGET_STATUS = tuple(panels.TARGET_STATUS)
CREDIT_CLASSES = tuple(c.value for c in CreditClass)
ENTITY_STATUS = tuple(reads.ENTITY_STATUS)
CLUE_FLAGS = ("open", "overdue", "due_soon", "chased", "escalated", "returned", "redispatched", "all")


@dataclass(frozen=True)
class Filters:
    """What a list page was asked for (query parameters), checked."""

    department: str | None = None
    city: str | None = None
    status: str | None = None
    state: str | None = None
    q: str | None = None
    page: int = 1


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def own_only(viewer: str | None, asked: str | None) -> str | None:
    """A department asking about another department's items gets 404, as for any of its items."""
    if viewer is not None and asked not in (None, "", viewer):
        raise Problem(404, "a department sees only what is assigned to its own department")
    return asked or None


async def notifications(session: AsyncSession, settings: Settings, viewer: str | None, f: Filters, now: datetime):
    status = f.status or "pending"
    if status not in NOTIFICATION_STATUS:
        raise Problem(400, f"status must be one of {', '.join(NOTIFICATION_STATUS)}")
    cond = {"pending": reads.pending(), "overdue": reads.overdue_notification(now),
            "acknowledged": n.acknowledged_at.is_not(None), "all": true()}[status]
    if (d := own_only(viewer, f.department)) is not None:
        cond = and_(cond, n.department == d)
    if f.city:
        cond = and_(cond, n.city_code == f.city)
    if f.q:
        cond = and_(cond, or_(n.entity_name.like(_like(f.q)), n.uscc == f.q.upper()))
    return await reads.notification_list(session, viewer, cond, limit=settings.page_size,
                                         offset=(f.page - 1) * settings.page_size)


async def clues(session: AsyncSession, settings: Settings, viewer: str | None, f: Filters, now: datetime):
    flag = f.status or "open"
    if flag not in CLUE_FLAGS:
        raise Problem(400, f"status must be one of {', '.join(CLUE_FLAGS)}")
    within = timedelta(hours=settings.due_soon_hours)
    d = own_only(viewer, f.department)
    cond = {"open": reads.open_clue(), "overdue": reads.overdue_clue(now), "due_soon": reads.due_soon_clue(now, within),
            "chased": reads.alerted("chased", viewer), "escalated": reads.alerted("escalated", viewer),
            "returned": c.returns > 0, "redispatched": c.redispatches > 0, "all": true()}[flag]
    if d is not None:
        cond = and_(cond, c.lead_department == d)
    if f.state:
        cond = and_(cond, c.state == f.state)
    if f.city:
        cond = and_(cond, c.city_code == f.city)
    if f.q:
        cond = and_(cond, reads.search_clues(f.q, _like(f.q)))
    return await reads.clue_list(session, viewer, cond, limit=settings.page_size,
                                 offset=(f.page - 1) * settings.page_size)


async def adjudication(session: AsyncSession, settings: Settings, f: Filters):
    return await reads.adjudication_list(session, limit=settings.page_size, offset=(f.page - 1) * settings.page_size,
                                         city=f.city)


async def inspections(session: AsyncSession, settings: Settings, viewer: str | None, f: Filters):
    cond = true()
    if (d := own_only(viewer, f.department)) is not None:
        cond = and_(cond, ir.lead_department == d)
    if f.city:
        cond = and_(cond, e.city_code == f.city)
    if f.status == "problems":
        cond = and_(cond, ir.problems_found)
    if f.q:
        cond = and_(cond, or_(ir.entity_name.like(_like(f.q)), ir.uscc == f.q.upper(), ir.matter_code == f.q))
    return await reads.inspection_list(session, viewer, cond, limit=settings.page_size,
                                       offset=(f.page - 1) * settings.page_size)


async def alerts(session: AsyncSession, settings: Settings, viewer: str | None, f: Filters):
    """Risk alerts: unclosed by default, a level (``state``), a department, a city, a search."""
    status = f.status or "open"
    if status not in panels.ALERT_STATUS:
        raise Problem(400, f"unknown status {status!r}; one of {', '.join(ALERT_STATUS)}")
    cond = panels.ALERT_STATUS[status]()
    if (d := own_only(viewer, f.department)) is not None:
        cond = and_(cond, panels.ra.departments.any(d))
    if f.state in panels.LEVELS:
        cond = and_(cond, panels.ra.level == f.state)
    if f.city:
        cond = and_(cond, panels.ra.city_code == f.city)
    if f.q:
        cond = and_(cond, panels.search_alerts(f.q, _like(f.q)))
    return await panels.alert_list(session, viewer, cond, limit=settings.page_size,
                                   offset=(f.page - 1) * settings.page_size)


async def targets(session: AsyncSession, settings: Settings, viewer: str | None, f: Filters, today):
    """Joint inspections' planned visits: planned (default), overdue (period over, no published result), all."""
    status = f.status or "planned"
    if status not in panels.TARGET_STATUS:
        raise Problem(400, f"unknown status {status!r}; one of {', '.join(TARGET_STATUS)}")
    cond = panels.TARGET_STATUS[status](today)
    if (d := own_only(viewer, f.department)) is not None:
        cond = and_(cond, panels.target_scope(d))
    if f.city:
        cond = and_(cond, panels.it.city_code == f.city)
    if f.q:
        cond = and_(cond, panels.search_targets(f.q, _like(f.q)))
    return await panels.target_list(session, viewer, cond, limit=settings.page_size,
                                    offset=(f.page - 1) * settings.page_size)


async def entities(session: AsyncSession, settings: Settings, viewer: str | None, f: Filters):
    """The directory: those in operation (``status`` active, the default: the figures count them), closed
    (deregistered or revoked) or all; a department (those it supervises), a city, a search, a credit class
    (``state``: A-D; B includes the unrated)."""
    status = f.status or "active"
    if status not in reads.ENTITY_STATUS:
        raise Problem(400, f"unknown status {status!r}; one of {', '.join(ENTITY_STATUS)}")
    cond = reads.ENTITY_STATUS[status]()
    if (d := own_only(viewer, f.department)) is not None:
        cond = and_(cond, reads.entity_scope(d))
    if f.city:
        cond = and_(cond, e.city_code == f.city)
    if f.q:
        cond = and_(cond, or_(e.name.like(_like(f.q)), e.uscc == f.q.upper()))
    if f.state:
        if f.state not in CREDIT_CLASSES:
            raise Problem(400, f"unknown credit class {f.state!r}; one of {', '.join(CREDIT_CLASSES)}")
        cond = and_(cond, reads.with_credit_class(f.state))
    return await reads.entity_list(session, viewer, cond, limit=settings.page_size,
                                   offset=(f.page - 1) * settings.page_size, by_class=bool(f.state))


def _visible_clue(row: dict, viewer: str | None) -> bool:
    return viewer is None or row["lead_department"] == viewer or viewer in (row["co_departments"] or [])


async def clue(session: AsyncSession, viewer: str | None, clue_id: str) -> dict:
    row = await reads.clue(session, clue_id)
    if row is None or not _visible_clue(row, viewer):
        raise Problem(404, f"no clue {clue_id}")
    return {"clue": row, "timeline": await reads.clue_timeline(session, clue_id),
            "alerts": [x for x in await reads.clue_alert_list(session, clue_id)
                       if viewer is None or x["department"] == viewer]}


async def notification(session: AsyncSession, viewer: str | None, notification_id: str) -> dict:
    row = await reads.notification(session, notification_id)
    if row is None or (viewer is not None and row["department"] != viewer):
        raise Problem(404, f"no notification {notification_id}")
    return row


