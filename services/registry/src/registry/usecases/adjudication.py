"""Adjudication (研判定性): a department disputes its assignment, the office decides who is responsible."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, departments, topics
from jsp_common.events.registry import AdjudicationDecided, AssignmentDisputed
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import adjudication as cases
from ..adapters import entities as records
from ..deps import Deps
from ..domain.directory import Responsibility
from .announcements import announce
from .directory import entity_for
from .responsibility import entity_changed, settle


async def queue(session: AsyncSession, *, status: str, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    return await cases.queue(session, status=status, limit=limit, offset=offset)


async def case(session: AsyncSession, case_id: str) -> dict[str, Any]:
    got = await cases.case(session, case_id)
    if got is None:
        raise Problem(404, f"no adjudication case {case_id}")
    return got


async def dispute(deps: Deps, tx: Tx, uscc: str, principal: Principal, reason: str) -> tuple[dict, bool]:
    """A department disputes its assignment: the entity goes back to the office's queue. Returns the case and
    whether the dispute is new: the same department's same dispute of the case still open (a retry after a lost
    answer) answers the case as it stands, nothing written or published again."""
    session = tx.session
    if not principal.department:
        raise Problem(403, "only a department disputes its own assignment")
    record = await entity_for(session, principal, uscc, lock=True)
    if record.closed:  # as a case waiting when its entity closes is withdrawn
        raise Problem(409, f"{uscc} is {record.status}: a closed entity's assignment is not disputed (registered "
                           "again, it is assessed anew)")
    answer = {"uscc": uscc, "status": "open"}
    open_id = await cases.open_case_of(session, uscc)
    if open_id is not None and await cases.disputed_in(session, open_id, uscc=uscc, department=principal.department,
                                                       reason=reason):
        return {"case_id": open_id, **answer}, False
    now, detail = clock.now(), f"{principal.department}: {reason}"
    new_id = tx.new_id("adjudication-case", uscc)
    case_id = await cases.open_case(session, case_id=new_id, uscc=uscc, reason="disputed",
                                    candidates=list(record.departments), detail=detail, opened_by=principal.subject,
                                    now=now)
    if case_id != new_id:  # a case is open already (another department disputed): this dispute joins it
        await cases.add_to_detail(session, case_id, detail)
    await records.mark_disputed(session, uscc, now)
    await cases.add_decision(session, uscc=uscc, action="assignment_disputed", actor=principal.subject, now=now,
                             details={"case_id": case_id, "department": principal.department, "reason": reason})
    await tx.emit(topics.REGISTRY_ADJUDICATION, AssignmentDisputed(
        case_id=case_id, uscc=uscc, department=principal.department, reason=reason, disputed_by=principal.subject,
        disputed_at=now), key=uscc)
    after = await records.load_record(session, uscc)
    assert after is not None
    await tx.emit(topics.REGISTRY_ENTITIES, entity_changed(after, now), key=uscc)
    return {"case_id": case_id, **answer}, True


async def decide(deps: Deps, tx: Tx, case_id: str, depts: list[str], note: str | None,
                 principal: Principal, *, domains: list[str] | None = None) -> dict:
    """The office names the responsible department(s), and the entity's domains if it gives them (else those the
    rules gave stay); only then do notifications go out."""
    session = tx.session
    for code in depts:
        try:
            departments.department(code)
        except departments.UnknownDepartment as exc:
            raise Problem(422, str(exc), errors=[{"field": "departments", "reason": str(exc)}]) from None
    # The entity first, then its case, as every writer of both locks them (the intake of a market event, a
    # dispute): the other order would have each wait for the other.
    case = await cases.case(session, case_id)
    if case is None:
        raise Problem(404, f"no adjudication case {case_id}")
    before = await records.load_record(session, case["uscc"], lock=True)
    assert before is not None
    found = await cases.case_for_decision(session, case_id)
    if found.status != "open":
        raise Problem(409, f"case {case_id} is {found.status}, not open")
    now = clock.now()
    chosen = tuple(sorted(set(depts)))
    domains_now = before.domains if domains is None else tuple(sorted(set(domains)))
    after = replace(before, departments=chosen, domains=domains_now, assignment_state="assigned",
                    assignment_source="office", matched_rules=(), version=before.version + 1)
    added = [d for d in chosen if d not in before.departments or found.reason == "no_rule_matched"]
    await announce(tx, found, name=before.name)  # its request first, were it not published yet (an import's case)
    await cases.decide_case(session, case_id, departments=list(chosen), note=note, by=principal.subject, now=now)
    await cases.add_decision(session, uscc=found.uscc, action="adjudication_decided", actor=principal.subject,
                             now=now, details={"case_id": case_id, "departments": list(chosen), "note": note,
                                               "previous": list(before.departments), "domains": list(domains_now),
                                               "previous_domains": list(before.domains)})
    await tx.emit(topics.REGISTRY_ADJUDICATION, AdjudicationDecided(
        case_id=case_id, uscc=found.uscc, departments=list(chosen), note=note, decided_by=principal.subject,
        decided_at=now), key=found.uscc)
    await settle(deps, tx, before, Responsibility(after, notify_new=added), cause="adjudicated",
                 event_id=None, now=now)
    return {"case_id": case_id, "uscc": found.uscc, "status": "decided", "departments": list(chosen),
            "domains": list(domains_now), "decided_by": principal.subject, "decided_at": now}
