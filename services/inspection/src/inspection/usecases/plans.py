"""Departments' sampling plans and the lead department's joint tasks (汇总取重)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, departments
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import directory
from ..adapters import matters as matters_repo
from ..adapters import tasks as repo
from ..deps import Deps
from ..domain import access
from ..domain.matters import MatterVersion
from ..domain.sampling import InvalidRatios, resolve_ratios
from . import matters as matters_uc


def _agency(code: str) -> str:
    return code.split("-", 1)[0]


def _takes_part(m: MatterVersion, department: str) -> bool:
    """A matter's own departments, or (a province matter) a city department of one of their agencies."""
    if department in m.departments:
        return True
    return m.division_code == "410000" and _agency(department) in {_agency(d) for d in m.departments}


def _check_filter(department: str, f: dict[str, Any], *, named: bool) -> dict[str, Any]:
    """The plan's filter, within its department's city (by default the department's division). Outside it: the
    office named a department and a place that do not go together (422), or a department asked for a place that
    is not its own (403)."""
    own = departments.department(department).division_code
    f = {k: v for k, v in f.items() if v}
    f.setdefault("division_code", own)
    if not own.endswith("0000") and not f["division_code"].startswith(own[:4]):
        raise Problem(422 if named else 403, "a city department plans within its own city",
                      errors=[{"field": "filter.division_code", "reason": f"outside {own}"}])
    return f


def still_open(period_end: date, refused: str) -> None:
    """Plans, joint tasks and draws are for a period not over: after its last day (the province's date) the visits
    could no longer be made in it, nor their results recorded (409, ``refused`` saying what is not done)."""
    if clock.today() > period_end:
        raise Problem(409, f"the period ended on {period_end.isoformat()}: {refused}; plan for a current period",
                      period_end=period_end.isoformat())


async def create_plan(deps: Deps, tx: Transaction, actor: Principal, body: dict[str, Any]) -> dict:
    department = actor.department if not actor.is_office else body.get("department")
    if not department:
        raise Problem(422, "the office names the plan's department", errors=[{"field": "department", "reason": "required"}])
    if body.get("department") not in (None, department):
        raise Problem(403, f"a department plans for itself ({department})")
    still_open(body["period_end"], "no plan for it")
    # What the matters list holds decides the rest: a refusal is a conflict with it (409), not a fault of the body.
    m = await matters_uc.for_period(tx.session, body["matter_code"], body["period_start"])
    if not _takes_part(m, department):
        raise Problem(409, f"{department} takes no part in matter {m.code}",
                      errors=[{"field": "matter_code", "reason": f"its departments: {', '.join(m.departments)}"}])
    items = m.items_of(department)
    if not items:
        raise Problem(409, f"matter {m.code} has no inspection item of {department}",
                      errors=[{"field": "matter_code", "reason": "no item of this department"}])
    s = deps.settings
    try:
        ratios = resolve_ratios(body.get("ratios"), key_matter=m.kind == "key", general_cap=Decimal(str(s.general_matter_max_ratio)),
                                proactive_a=s.proactive_class_a)
    except InvalidRatios as exc:
        raise Problem(409, f"the ratios are outside the credit bands of a {m.kind} matter", errors=exc.errors) from None
    f = _check_filter(department, body.get("filter") or {}, named=actor.is_office)
    size = await directory.count_population(tx.session, f)
    if size == 0:
        raise Problem(409, "the plan's filter matches no entity in the directory",
                      errors=[{"field": "filter", "reason": "no active entity matches " + ", ".join(f"{k}={v}" for k, v in f.items())}])
    return await repo.add_plan(tx.session, {
        "id": f"PL-{uuid.uuid4().hex[:12]}", "department": department, "matter_code": m.code, "matter_version": m.version,
        "period_start": body["period_start"], "period_end": body["period_end"], "frequency": body.get("frequency", 1),
        "filter": f, "ratios": {k: str(v) for k, v in ratios.items()}, "items": list(items),
        "population_at_creation": size, "created_by": actor.subject, "created_at": clock.now()})


async def visible_plan(session: AsyncSession, actor: Principal, plan_id: str) -> dict:
    p = await repo.plan(session, plan_id)
    if p is None or not access.owns(actor, p["department"]):
        raise Problem(404, f"no plan {plan_id}")
    return p


async def create_task(tx: Transaction, actor: Principal, plan_ids: list[str]) -> dict:
    """A joint task over plans of one matter version and one period, one per department and agency; the lead is
    the department of the matter's lead agency, and only it (or the office) creates the task. Who asks is
    checked first: another department's plans are not a caller's business, and a caller naming none of its own is
    answered as if none of them existed (404), before anything is said about them (taken, of another matter)."""
    plan_ids = sorted(set(plan_ids))
    # Locked (in id order) until the task is written: a request for a task over one of these plans at the same
    # moment waits, then finds the plan taken.
    found = await repo.plans_by_id(tx.session, plan_ids, for_update=True)
    own = [p for p in found if access.owns(actor, p["department"])]
    missing = sorted(set(plan_ids) - {p["id"] for p in found})
    if missing or not own:
        raise Problem(404, f"no plan {', '.join(missing if own else plan_ids)}")
    if not actor.is_office:  # decided by the caller's own plan: the department of its matter's lead agency
        m = await tx_matter(tx, own[0]["matter_code"], own[0]["matter_version"])
        if _agency(actor.department) != _agency(m.lead_department):
            raise Problem(403, f"the department of the lead agency ({m.lead_department}) or the office merges the "
                               "plans into a joint task")
    errors = []
    if len({(p["matter_code"], p["matter_version"]) for p in found}) > 1:
        errors.append({"field": "plan_ids", "reason": "the plans are of different matters or matter versions"})
    if len({(p["period_start"], p["period_end"]) for p in found}) > 1:
        errors.append({"field": "plan_ids", "reason": "the plans are of different periods"})
    if len({p["department"] for p in found}) < len(found):
        errors.append({"field": "plan_ids", "reason": "one plan per department"})
    else:
        agencies = Counter(_agency(p["department"]) for p in found)
        shared = sorted(p["department"] for p in found if agencies[_agency(p["department"])] > 1)
        if shared:  # a province matter's city department carries out its agency's items: the same items twice
            errors.append({"field": "plan_ids", "reason": "one plan per agency: " + ", ".join(shared) + " carry out "
                           "the same items of the matter (a joint task for each)"})
    taken = await repo.plans_in_tasks(tx.session, plan_ids)
    if taken:
        errors.append({"field": "plan_ids", "reason": f"already in a joint task: {', '.join(taken)}"})
    if errors:
        raise Problem(409, "these plans cannot form one joint task", errors=errors)
    first = found[0]
    m = await tx_matter(tx, first["matter_code"], first["matter_version"])
    leads = [p["department"] for p in found if _agency(p["department"]) == _agency(m.lead_department)]
    if not leads:
        raise Problem(409, f"the lead department's ({m.lead_department}) own plan is part of a joint task",
                      errors=[{"field": "plan_ids", "reason": "no plan of the lead department"}])
    lead = leads[0]   # the caller's own plan when a department asks: one plan per agency
    still_open(first["period_end"], "no joint task for it")
    return await repo.add_task(tx.session, {
        "id": f"JT-{uuid.uuid4().hex[:12]}", "matter_code": m.code, "matter_version": m.version, "lead_department": lead,
        "departments": sorted(p["department"] for p in found), "plan_ids": sorted(plan_ids),
        "period_start": first["period_start"], "period_end": first["period_end"], "created_by": actor.subject,
        "created_at": clock.now()})


async def tx_matter(tx: Transaction, code: str, version: int) -> MatterVersion:
    m = await matters_repo.version(tx.session, code, version)
    if m is None:
        raise Problem(404, f"no matter {code} version {version}")
    return m


async def visible_task(session: AsyncSession, actor: Principal, task_id: str, *, for_update: bool = False) -> dict:
    t = await repo.task(session, task_id, for_update=for_update)
    if t is None or not access.in_task(actor, t):
        raise Problem(404, f"no joint task {task_id}")
    return t


def period_ok(start: date, end: date) -> bool:
    return start <= end and (end - start).days <= 366
