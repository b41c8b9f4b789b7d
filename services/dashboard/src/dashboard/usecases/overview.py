"""The command page's figures (调度总览): by department and by city (dual notifications, clues, adjudication,
risk alerts, joint inspections planned, overdue and published), trends, latest registrations."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock
from jsp_common.db import Database

from ..adapters import clue_figures, reads, tallies
from ..adapters.tables import active_entity_tally, clue_tally, entity_tally
from ..adapters import reads_panels as panels
from ..adapters.reads import ir, n
from ..domain import charts, figures
from ..domain.places import cities, city_name, department_name
from ..settings import Settings


async def kept(db: Database, settings: Settings, department: str | None) -> dict:
    """The figures the command page keeps (``usecases/snapshots.py``): the tallies' deltas since the last
    refresh folded first (a write, so on the primary, in a transaction of its own), then the figures, read outside
    a transaction (each statement sees what was committed when it started, as in a READ COMMITTED transaction):
    the tables a statement read are not held to the refresh's end (a rebuild putting its copy in place waits
    for them)."""
    async with db.transaction() as session:
        for tally in (clue_tally, entity_tally, active_entity_tally):
            await tallies.fold(session, tally)
    async with db.reading() as session:
        return await overview(session, settings, department, clock.now())


async def overview(session: AsyncSession, settings: Settings, department: str | None, now: datetime) -> dict:
    within = timedelta(hours=settings.due_soon_hours)
    office = department is None
    weeks = figures.weeks(now.date(), settings.trend_weeks)
    since = datetime.combine(weeks[0], datetime.min.time(), tzinfo=now.tzinfo)
    clue_facts = await clue_figures.clue_facts(session, department, now, within, since)
    by_dept = figures.merge([
        await reads.notification_figures(session, department, now, n.department),
        figures.regroup(clue_facts, "lead", figures.CLUE_FIGURES),
        await reads.inspection_figures(session, department, ir.lead_department),
        await panels.alert_figures(session, department, "department"),
        await panels.target_figures(session, department, "department", now.date()),
    ], None, department_name)
    if not office:
        by_dept = [r for r in by_dept if r.key == department]
    by_city = figures.merge([
        await reads.entity_figures(session, department),
        await reads.credit_figures(session, department),
        await reads.notification_figures(session, department, now, n.city_code),
        figures.regroup(clue_facts, "city", figures.CLUE_FIGURES),
        await reads.inspection_figures_by_city(session, department),
        await panels.alert_figures(session, department, "city"),
        await panels.target_figures(session, department, "city", now.date()),
        *([await reads.adjudication_figures(session, by_city=True)] if office else []),
    ], list(cities()), city_name)
    totals = figures.totals(by_city)
    queue = (await reads.adjudication_figures(session, by_city=False)).get("all", {}) if office else {}
    highest = max([r.late for r in by_city] + [0])
    return {
        "totals": totals, "states": {k: v["clues"] for k, v in figures.regroup(clue_facts, "state", ("clues",)).items()},
        "by_department": figures.busiest_first(by_dept), "by_city": by_city,
        "heat": {r.key: figures.heat(r.late, highest) for r in by_city},
        "adjudication": {"open": queue.get("adjudication_open", 0),
                         "oldest_age": figures.age(queue.get("adjudication_oldest"), now)} if office else None,
        "trend": await trend(session, department, weeks, since, clue_facts),
        "latest": await reads.latest_entities(session, department, 8),
    }


async def trend(session: AsyncSession, department: str | None, weeks: list, since: datetime,
                clue_facts: list[dict]) -> str:
    registered = await reads.entity_weeks(session, department, weeks[0])
    received = {w.date() if w else None: v["clues"] for w, v in figures.regroup(clue_facts, "week", ("clues",)).items()}
    series = [("新增监管对象", [registered.get(w, 0) for w in weeks])]
    for label, column, scope in (("双告知发出", n.issued_at, reads.notification_scope(department)),
                                 ("检查结果公示", ir.published_at, reads.inspection_scope(department))):
        counts = await reads.weekly(session, column, scope, since)
        series.append((label, [counts.get(w, 0) for w in weeks]))
    series.insert(2, ("新收线索", [received.get(w, 0) for w in weeks]))
    return charts.line_chart(weeks, series, title="近几周趋势")
