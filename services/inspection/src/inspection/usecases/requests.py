"""Targeted inspections asked for by risk alerts (定向检查, ``risk.inspection.requested.v1``): the must-inspect
list of the departments asked, each answering for its part. The next joint draw of a task in which an asked
department takes part, whose plan covers the entity, adds it as a target with that department's items beside
the random sample (on the draw's record, so the draw still replays); a published result of a visit where the
department inspected covers its part. Another department asked still answers for its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock
from jsp_common.consumer import HandlerContext
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import requests as repo
from ..domain import access


async def apply_requests(ctxs: list[HandlerContext]) -> None:
    """``risk.inspection.requested.v1``: onto the must-inspect list (a redelivered request counts once)."""
    if ctxs:
        await repo.add(ctxs[0].session, [{
            "request_id": d.request_id, "alert_id": d.alert_id, "uscc": d.uscc, "entity_name": d.entity_name,
            "level": d.level.value, "score": d.score, "departments": list(d.departments), "reason": d.reason,
            "respond_by": d.respond_by, "requested_at": d.requested_at,
        } for d in (c.data for c in ctxs)])  # type: ignore[attr-defined]


@dataclass
class TakenIn:
    """The requests a task's draw takes in."""

    requested: dict[str, list[str]]           # USCC -> the departments asked (among the task's plans covering it)
    parts: list[tuple[str, str]]              # (request id, department asked)
    requested_on: dict[str, dict[str, date]]  # USCC -> department asked -> the day of its latest request


async def for_task(tx: Transaction, task: dict, plans: list[dict]) -> TakenIn:
    """The requested entities the task's draw takes in: those an open request asks a department of the task
    about whose plan's filter covers them (that department's part of the request)."""
    wanted: dict[str, set[str]] = {}
    taken: list[tuple[str, str]] = []
    days: dict[str, dict[str, date]] = {}
    for p in plans:
        for r in await repo.open_for_plan(tx.session, p["department"], p["filter"]):
            wanted.setdefault(r["uscc"], set()).add(p["department"])
            taken.append((r["request_id"], p["department"]))
            day, on = clock.as_local(r["requested_at"]).date(), days.setdefault(r["uscc"], {})
            on[p["department"]] = max(day, on.get(p["department"], day))
    return TakenIn({u: sorted(d) for u, d in sorted(wanted.items())}, sorted(set(taken)), days)


async def listing(session: AsyncSession, actor: Principal, *, state: str | None, limit: int, offset: int) -> list[dict]:
    """The office sees every request; a department those that ask it."""
    department = access.department_of(actor)
    if department == "":
        raise Problem(403, "inspection requests are for the office and the departments")
    return await repo.listing(session, department=department, state=state, limit=limit, offset=offset)
