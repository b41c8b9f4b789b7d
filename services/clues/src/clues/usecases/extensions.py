"""Extensions (延期): the lead department asks for more working days; the office approves or refuses."""

from __future__ import annotations

from datetime import datetime

from jsp_common import clock, topics
from jsp_common.events.clues import ClueDeadlineChanged, ClueExtensionDecided
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..deps import Deps
from ..domain import deadlines
from . import access, journal


def deadline_of(clue: dict) -> deadlines.Deadline:
    """The clue's handling deadline as counted (a clue from before the count was kept counts on from it)."""
    return deadlines.kept(clue) or deadlines.Deadline(clue["deadline"], clue["deadline"], 0,
                                                      clue["deadline_provisional"])


async def request_extension(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, workdays: int, reason: str) -> dict:
    clue = await access.load(tx.session, clue_id, actor)
    access.require_lead(clue, actor, what="request an extension")
    journal.allowed(clue, "request_extension")
    limit = deps.settings.max_extension_workdays
    if workdays < 1:
        raise Problem(422, "an extension is at least 1 working day",
                      errors=[{"field": "workdays", "reason": "out of range"}])
    earlier = await repo.list_extensions(tx.session, clue_id)
    for pending in earlier:
        if pending["status"] == "pending":
            raise Problem(409, f"extension {pending['id']} is waiting for the office's decision; one at a time",
                          extension_id=pending["id"])
    left = deadlines.extension_workdays_left(earlier, clue["deadline_from"], limit)
    if workdays > left:
        raise Problem(422, f"a clue's extensions add at most {limit} working days in all; {left} working days "
                      f"remain, {workdays} were asked", workdays_left=left,
                      errors=[{"field": "workdays", "reason": f"at most {left} working days remain"}])
    ext_id = await repo.add_extension(tx.session, clue_id=clue_id, department=actor.department,
                                      requested_by=actor.subject, requested_at=clock.now(), workdays=workdays,
                                      reason=reason, status="pending")
    await journal.record(tx, clue, "request_extension", clue["state"], actor,
                         {"extension_id": ext_id, "workdays": workdays, "reason": reason})
    return {"id": ext_id, "clue_id": clue_id, "workdays": workdays, "reason": reason, "status": "pending"}


async def decide_extension(deps: Deps, tx: Tx, clue_id: str, ext_id: int, actor: Principal, *, approved: bool,
                           note: str | None) -> dict:
    """The office's decision; an approved extension moves the deadline and restarts the chasers."""
    clue = await access.load(tx.session, clue_id, actor)
    ext = await repo.get_extension(tx.session, clue_id, ext_id)
    if ext is None:
        raise Problem(404, f"no extension {ext_id} on clue {clue_id}")
    if ext["status"] != "pending":
        raise Problem(409, f"extension {ext_id} was already {ext['status']}")
    journal.allowed(clue, "decide_extension")
    before = deadline_of(clue)
    moved = deadlines.extended(deps.calendar, before, ext["workdays"]) if approved else None
    new_deadline = moved.at if moved else None
    status = "approved" if approved else "refused"
    await repo.update_extension(tx.session, ext_id, status=status, decided_by=actor.subject,
                                decided_at=clock.now(), note=note, new_deadline=new_deadline)
    passed = clock.now() > before.at
    if moved:
        await journal.set_values(tx, clue, **moved.columns(), chased_at=None, escalated_at=None)
        await tell_departments(tx, clue, before.at, moved, passed=passed,
                               reason=f"extension approved: {ext['workdays']} working days ({ext['reason']})")
    # the department that asked learns the answer where its line system reads (a refusal moves nothing)
    standing = moved or before
    asked_by = ext["department"]
    await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, asked_by), ClueExtensionDecided(
        clue_id=clue_id, department=asked_by, role="lead" if asked_by == clue["lead_department"] else "co",
        deadline=standing.at, deadline_provisional=standing.provisional, extension_id=ext_id,
        workdays=ext["workdays"], approved=approved, note=note, state=clue["state"]), key=clue_id)
    # the deadline it replaced, and whether it had passed, as a recount's transition says (the lifecycle alone
    # keeps a passed deadline in sight, as the departments' deadline-changed does)
    replaced = {"previous_deadline": before.at.isoformat(), "previous_passed": passed} if moved else {}
    await journal.record(tx, clue, "approve_extension" if approved else "refuse_extension", clue["state"], actor,
                         {"extension_id": ext_id, "workdays": ext["workdays"], "note": note,
                          "new_deadline": new_deadline.isoformat() if new_deadline else None, **replaced})
    return {**ext, "status": status, "decided_by": actor.subject, "note": note, "new_deadline": new_deadline}


async def tell_departments(tx: Tx, clue: dict, previous: datetime, deadline: deadlines.Deadline, *, passed: bool,
                           reason: str) -> None:
    """A clue's deadline moved (an extension approved, a holiday schedule published): told to the lead department
    and each co-handling one on its own topic, the only one its line system reads, with both dates."""
    lead = clue["lead_department"]
    for dept, role in [(lead, "lead"), *[(d, "co") for d in clue["co_departments"] or [] if d != lead]]:
        if dept:
            await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, dept), ClueDeadlineChanged(
                clue_id=clue["id"], department=dept, role=role, deadline=deadline.at,
                deadline_provisional=deadline.provisional, previous_deadline=previous, previous_passed=passed,
                state=clue["state"], reason=reason[:500]), key=clue["id"])
