"""Results per entity and item, mutual recognition, publication (一公开) and clues from problems found."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, topics
from jsp_common.events.clues import (MAX_ADDRESS_CHARS, MAX_CONTENT_CHARS, MAX_SHORT_CHARS, ClueSubmitted,
                                     clue_text)
from jsp_common.events.inspection import InspectionResultPublished, ItemResult, ResultRecorded
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import requests as requests_repo
from ..adapters import tasks as repo
from ..deps import Deps
from ..domain import access, publication, recognition
from .plans import tx_matter, visible_task


def _owner_of(target: dict) -> dict[str, str]:
    return {i: p["department"] for p in target["parts"] for i in p["items"]}


async def record(deps: Deps, tx: Transaction, actor: Principal, task_id: str, uscc: str, body: dict[str, Any]) -> dict:
    """The joint team's results at one entity. Refused whole (nothing written) when the entity was not
    drawn, an item is not one inspected there or is another department's (the office records any), the day
    is outside the task's period, or an item already has a result."""
    task = await visible_task(tx.session, actor, task_id)
    target = await repo.target(tx.session, task_id, uscc, for_update=True)
    if target is None or not access.sees_target(actor, task, target):  # another's entity: as if not drawn
        raise Problem(404, f"entity {uscc} was not drawn in joint task {task_id}: no result can be recorded for it",
                      errors=[{"field": "uscc", "reason": "not a target of this task"}])
    if not (actor.is_office or actor.department in target["departments"]):  # the lead, which does not inspect it
        raise Problem(403, "the departments inspecting this entity record its results")
    owner = _owner_of(target)
    if not actor.is_office:
        # Results are never changed once recorded: one for another department's item would stand for good, and
        # its own department would be refused.
        theirs = [{"field": f"items[{n}].item_code", "reason": f"an item of {owner[i['item_code']]}, which records "
                   "its result"} for n, i in enumerate(body["items"])
                  if owner.get(i["item_code"], actor.department) != actor.department]
        if theirs:
            raise Problem(403, f"a department records the results of its own items ({actor.department}); "
                               "nothing was written", errors=theirs)
    inspected_on: date = body["inspected_on"]
    errors = []
    if not (task["period_start"] <= inspected_on <= min(task["period_end"], clock.today())):
        errors.append({"field": "inspected_on", "reason": f"within the task's period {task['period_start']}–"
                       f"{task['period_end']} and not in the future"})
    done = {r["item_code"] for r in await repo.results_of(tx.session, task_id, uscc)}
    rows = []
    for n, item in enumerate(body["items"]):
        code = item["item_code"]
        if code not in owner:
            errors.append({"field": f"items[{n}].item_code", "reason": f"{code!r} is not inspected at this entity "
                           f"(its items: {', '.join(sorted(owner))})"})
        elif code in done or any(r["item_code"] == code for r in rows):
            errors.append({"field": f"items[{n}].item_code", "reason": f"{code!r} already has a result"})
        else:
            rows.append({"task_id": task_id, "uscc": uscc, "item_code": code, "department": owner[code],
                         "outcome": item["outcome"], "note": item.get("note") or "", "inspected_on": inspected_on,
                         "recorded_by": actor.subject})
    problems = publication.problems_found([r["outcome"] for r in rows])
    if errors:  # what is recorded does not allow these results
        raise Problem(409, "the results cannot be recorded; nothing was written", errors=errors)
    if body.get("raise_clue") and not problems:
        raise Problem(422, "a clue is raised only for a problem found; nothing was written",
                      errors=[{"field": "raise_clue", "reason": "no item has a problem found"}])
    await repo.add_results(tx.session, rows)
    if target["inspected_on"] is None:  # the first results there fix the publication deadline
        workdays = deps.settings.publish_within_workdays   # kept: a recount counts with them, whatever the setting
        due = publication.due_on(deps.calendar, inspected_on, workdays)
        target = {**target, "inspected_on": inspected_on, "due_on": due, "due_workdays": workdays,
                  "due_provisional": publication.is_provisional(deps.calendar, inspected_on, due)}
        await repo.set_target(tx.session, task_id, uscc, inspected_on=inspected_on, due_on=due, recorded_at=clock.now(),
                              due_workdays=workdays, due_provisional=target["due_provisional"])
    await _tell_recorded(tx, task, target, rows, complete=set(owner) <= done | {r["item_code"] for r in rows})
    if body.get("raise_clue"):
        m = await tx_matter(tx, task["matter_code"], task["matter_version"])
        # a later recording's problem is a clue of its own, not a resend of the first (its results counted)
        ref = f"{task_id}.{uscc}" + (f".{len(done)}" if done else "")
        await tx.emit(topics.CLUE_SUBMISSIONS, ClueSubmitted(
            channel="inspection", channel_ref=ref, content=body.get("clue_text") or _clue_text(target, rows),
            received_at=clock.now(), address=clue_text(target["address"], MAX_ADDRESS_CHARS),
            business_name=clue_text(target["entity_name"], MAX_SHORT_CHARS), uscc=uscc, domain=m.domain,
            category="inspection finding"), key=ref)
    return await view(tx.session, task_id, uscc)


async def _tell_recorded(tx: Transaction, task: dict, target: dict, rows: list[dict], *, complete: bool) -> None:
    """Every department of the visit, and the lead, learn the results are in and by when they are to be
    published."""
    items, at = _item_results(rows), clock.now()
    for department in access.told_of_results(target["departments"], task["lead_department"]):
        await tx.emit(topics.department_topic(topics.DEPARTMENT_INSPECTIONS, department), ResultRecorded(
            task_id=task["id"], uscc=target["uscc"], entity_name=target["entity_name"],
            matter_code=task["matter_code"], lead_department=task["lead_department"], department=department,
            departments=target["departments"], inspected_on=target["inspected_on"], items=items, complete=complete,
            due_on=target["due_on"], due_provisional=target["due_provisional"], recorded_at=at), key=task["id"])


def _clue_text(target: dict, rows: list[dict]) -> str:
    found = "; ".join(f"{r['item_code']}: {r['outcome']}" + (f" ({r['note']})" if r["note"] else "")
                      for r in rows if r["outcome"] != "no_problem")
    text = f"联合抽查发现问题 {clue_text(target['entity_name'], MAX_SHORT_CHARS)}: {found}"
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS - 1] + "…"  # a clue's most


async def view(session: AsyncSession, task_id: str, uscc: str, *, for_update: bool = False) -> dict:
    target = await repo.target(session, task_id, uscc, for_update=for_update)
    if target is None:
        raise Problem(404, f"no target {uscc} in task {task_id}")
    recorded = await repo.results_of(session, task_id, uscc)
    items = set(_owner_of(target))
    return {**target, "results": recorded, "complete": items <= {r["item_code"] for r in recorded}}


async def visible_target(session: AsyncSession, actor: Principal, task_id: str, uscc: str) -> dict:
    """One entity of a joint task, with its results, as ``actor`` may see it (another's: 404)."""
    task = await visible_task(session, actor, task_id)
    target = await view(session, task_id, uscc)
    if not access.sees_target(actor, task, target):
        raise Problem(404, f"no target {uscc} in task {task_id}")
    return target


async def publish(tx: Transaction, actor: Principal, task_id: str, uscc: str) -> dict:
    """Publish one entity's complete results: the public feed and ``inspection.result.published.v1``."""
    task = await visible_task(tx.session, actor, task_id)
    if not access.leads(actor, task):
        raise Problem(403, f"the lead department {task['lead_department']} (or the office) publishes results")
    current = await view(tx.session, task_id, uscc, for_update=True)  # published once, whoever asks at once
    if current["published_at"] is not None:
        raise Problem(409, f"the results of {uscc} in {task_id} are already published")
    if not current["complete"]:
        raise Problem(409, "some items have no result yet; publish when every item is recorded")
    # targeted inspections asked of the departments that inspected here: done (first: a draw taking them in
    # holds them until it ends)
    await requests_repo.cover(tx.session, uscc, recognition.inspecting(current["results"]), clock.now())
    # the task's other parts at the entity (a department refused, a request of the visit's day or later): open again
    await requests_repo.release(tx.session, task_id, uscc=uscc)
    at = await repo.feed_moment(tx.session, clock.now())
    await repo.set_target(tx.session, task_id, uscc, published_at=at)
    await tx.emit(topics.INSPECTION_RESULTS, published_event(task, current, at), key=uscc)
    return {**current, "published_at": at}


def published_event(task: dict, target: dict, at) -> InspectionResultPublished:
    items = _item_results(target["results"])
    return InspectionResultPublished(
        uscc=target["uscc"], entity_name=target["entity_name"], task_id=task["id"], matter_code=task["matter_code"],
        lead_department=task["lead_department"], departments=target["departments"], inspected_on=target["inspected_on"],
        items=items, problems_found=publication.problems_found([i.outcome for i in items]), published_at=at)


def _item_results(rows: list[dict]) -> list[ItemResult]:
    return [ItemResult(item_code=r["item_code"], department=r["department"], outcome=r["outcome"], note=r["note"])
            for r in rows]


async def feed(session: AsyncSession, *, since, limit: int) -> list[dict]:
    out = []
    for t in await repo.published(session, since=since, limit=limit):
        rs = await repo.results_of(session, t["task_id"], t["uscc"])
        out.append({"uscc": t["uscc"], "entity_name": t["entity_name"], "task_id": t["task_id"],
                    "matter_code": t["matter_code"], "lead_department": t["lead_department"],
                    "departments": t["departments"], "inspected_on": t["inspected_on"],
                    "published_at": t["published_at"],
                    "items": [{k: r[k] for k in ("item_code", "department", "outcome", "note")} for r in rs],
                    "problems_found": publication.problems_found([r["outcome"] for r in rs])})
    return out


async def overdue(session: AsyncSession, *, today: date, limit: int, offset: int = 0) -> list[dict]:
    return [{"task_id": t["task_id"], "uscc": t["uscc"], "entity_name": t["entity_name"],
             "matter_code": t["matter_code"], "lead_department": t["lead_department"],
             "inspected_on": t["inspected_on"], "due_on": t["due_on"], "days_overdue": (today - t["due_on"]).days}
            for t in await repo.overdue(session, today, limit=limit, offset=offset)]
