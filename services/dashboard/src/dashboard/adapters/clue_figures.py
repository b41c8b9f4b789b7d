"""The clue figures of the command page: counts per lead department, city, state and week received, from the
clue tally (``tables.clue_tally``, kept by triggers on ``clues``) and the few clues and alerts the tally cannot
count, never from every clue the read model holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, case, cast, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.clues import OPEN_STATES
from .reads import c, ca, clue_scope, count_if
from .tables import TIMED_CLUE, clue_tally, clues

CLUE_FACTS = ("clues", "clues_open", "clues_overdue", "clues_due_soon", "clues_chased", "clues_escalated",
              "clues_returned", "clues_redispatched")


async def clue_facts(session: AsyncSession, department: str | None, now: datetime, within: timedelta,
                     since: datetime) -> list[dict]:
    """Counts per lead department, city, state and week received (None before ``since``, a Monday's midnight in
    Asia/Shanghai): clues, open, overdue, due soon, chased, escalated, returned and re-dispatched (each once per
    clue, as the lists behind them hold clues). None of it reads every clue: the counts, the clues returned and
    re-dispatched are sums of the tally (``clue_tally``), the overdue and due-soon clues are those whose deadline
    runs and is near, the chased and escalated ones those the alerts name."""
    facts: dict[tuple, dict[str, int]] = {}

    def add(rows) -> None:
        for r in rows:
            key = (r["lead"], r["city"], r["state"], r["week"])
            mine = facts.setdefault(key, dict.fromkeys(CLUE_FACTS, 0))
            for k, v in r.items():
                if k in mine:
                    mine[k] += int(v or 0)

    t = clue_tally.c
    tallied = {"clues": func.sum(t.n), "clues_open": func.sum(t.n).filter(t.state.in_(OPEN_STATES)),
               "clues_returned": func.sum(t.returns), "clues_redispatched": func.sum(t.redispatches)}
    keys = {"lead": func.nullif(t.lead_department, ""), "city": func.nullif(t.city_code, ""), "state": t.state,
            "week": case((t.week >= since.date(), cast(t.week, DateTime)))}
    some = or_(func.sum(t.n) != 0, func.sum(t.returns) != 0, func.sum(t.redispatches) != 0)
    add((await session.execute(_facts(keys, tallied).where(t.scope == (department or "")).having(some))).mappings())

    week = case((c.received_at >= since, func.date_trunc("week", func.timezone("Asia/Shanghai", c.received_at))))
    keys = {"lead": c.lead_department, "city": c.city_code, "state": c.state, "week": week}
    near = {"clues_overdue": count_if(c.deadline < now), "clues_due_soon": count_if(c.deadline >= now)}
    add((await session.execute(_facts(keys, near).where(text(TIMED_CLUE), c.deadline < now + within,
                                                        clue_scope(department)))).mappings())

    alerts = select(ca.clue_id, func.bool_or(ca.kind == "chased").label("chased"),
                    func.bool_or(ca.kind == "escalated").label("escalated")).group_by(ca.clue_id)
    if department is not None:
        alerts = alerts.where(ca.department == department)
    alerts = alerts.subquery()
    alerted = {"clues_chased": count_if(alerts.c.chased), "clues_escalated": count_if(alerts.c.escalated)}
    add((await session.execute(_facts(keys, alerted).select_from(alerts.join(clues, c.clue_id == alerts.c.clue_id))
                               .where(clue_scope(department)))).mappings())
    return [{"lead": lead, "city": city, "state": state, "week": w, **v} for (lead, city, state, w), v in facts.items()]


def _facts(keys: dict[str, Any], counts: dict[str, Any]):
    return select(*[v.label(k) for k, v in keys.items()], *[v.label(k) for k, v in counts.items()]) \
        .group_by(*keys.values())
