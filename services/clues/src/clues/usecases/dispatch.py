"""Sending a clue to its lead and co-handling departments (交办), each on its own topic, with the handling
deadline in working days; the office's manual dispatch, re-dispatch and arbitration (仲裁)."""

from __future__ import annotations

from jsp_common import clock, topics
from jsp_common.domains import Domain
from jsp_common.events.clues import ClueDispatched
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..deps import Deps
from ..domain import deadlines
from ..domain.lifecycle import State
from . import access, journal
from .configuration import Configuration


def followed(first: dict) -> dict:
    """What a linked duplicate has of its first clue: the departments (those who see it) and the matter's domain.
    It goes with the first clue wherever the office sends it, so that the departments handling the matter see its
    repeats, and those that gave it back no longer do."""
    return {"lead_department": first["lead_department"], "co_departments": list(first["co_departments"] or []),
            "domain": first["domain"]}


def dispatch_values(deps: Deps, config: Configuration, clue: dict, *, lead: str, co: list[str],
                    domain: Domain | str | None, note: str | None, arbitrated: bool = False, reopen: bool = False,
                    details: dict | None = None) -> tuple[dict, dict]:
    """What dispatching (or reopening) ``clue`` changes: its new values (departments, domain, round, deadlines)
    and the details recorded with the transition. A reopened clue keeps its arbitration: the office named the
    department that must take it, and the caller being unsatisfied does not change whose matter it is."""
    s = deps.settings
    arbitrated = arbitrated or (reopen and bool(clue["arbitrated"]))
    now = clock.now()
    domain_value = Domain(domain).value if domain else (clue["domain"] or Domain.OTHER.value)
    deadline: dict = {}
    if clue["deadline"] is None or reopen:
        start = now if reopen else clue["received_at"]
        n = deadlines.handling_workdays(config.policies, clue["channel"], clue["urgency"], clue["category"],
                                        s.deadline_fallback_workdays)
        deadline = deadlines.counted(deps.calendar, start, n).columns()
    co = [d for d in dict.fromkeys(co) if d != lead]
    values = dict(lead_department=lead, co_departments=co, domain=domain_value, round=clue["round"] + 1,
                  arbitrated=arbitrated, dispatched_at=now, **deadline,
                  **deadlines.counted(deps.calendar, now, s.return_within_workdays).columns("return_deadline"),
                  routing_note=note)
    # The chaser and the escalation re-armed (as for an extension): they are owed to the department that has the
    # clue now, however many the one before it had.
    values.update(chased_at=None, escalated_at=None)
    if reopen:
        values.update(closed_at=None)
    info = {"lead": lead, "co": co, "note": note, "arbitrated": arbitrated, **(details or {})}
    return values, info


def dispatched_events(clue: dict) -> list[tuple[str, ClueDispatched]]:
    """The dispatched clue's events, one on each of its departments' topics (lead first): (topic, event)."""
    lead, co = clue["lead_department"], list(clue["co_departments"])
    return [(topics.department_topic(topics.DEPARTMENT_CLUES, dept), ClueDispatched(
        clue_id=clue["id"], department=dept, role=role, deadline=clue["deadline"],
        deadline_provisional=clue["deadline_provisional"], round=clue["round"],
        channel=clue["channel"], channel_ref=clue["channel_ref"], content=clue["content"],
        received_at=clue["received_at"], address=clue["address"], division_code=clue["division_code"],
        business_name=clue["business_name"], uscc=clue["uscc"], match_confidence=clue["match_confidence"],
        domain=clue["domain"], urgency=clue["urgency"], lead_department=lead, co_departments=co,
        return_deadline=clue["return_deadline"], caller_name=clue["caller_name_masked"],
        caller_phone=clue["caller_phone_masked"], arbitrated=clue["arbitrated"]))
        for dept, role in [(lead, "lead"), *[(d, "co") for d in co]]]


async def send_to_departments(deps: Deps, tx: Tx, clue: dict, *, lead: str, co: list[str],
                              domain: Domain | str | None, actor: Principal, note: str | None, record_as: str,
                              arbitrated: bool = False, reopen: bool = False, details: dict | None = None) -> None:
    """Dispatch (or reopen) a clue: its departments, domain, round and deadlines, recorded and published to
    each department's topic."""
    config = await deps.config.get(tx.session)
    values, info = dispatch_values(deps, config, clue, lead=lead, co=co, domain=domain, note=note,
                                   arbitrated=arbitrated, reopen=reopen, details=details)
    await journal.move(tx, clue, "reopen" if reopen else "dispatch", actor, record_as=record_as, details=info,
                       **values)
    for topic, event in dispatched_events(clue):
        await tx.emit(topic, event, key=clue["id"])
    await _take_duplicates_along(tx, clue, actor)


async def _take_duplicates_along(tx: Tx, first: dict, actor: Principal) -> None:
    """The first clue's linked duplicates go where it went (:func:`followed`), each change recorded. The first
    clue is locked before its duplicates, as the intake that links a repeat and the reply that answers them do."""
    values = followed(first)
    for dup in await repo.linked_duplicates(tx.session, first["id"], State.LINKED.value):
        if followed(dup) == values:
            continue
        await journal.set_values(tx, dup, **values)
        await journal.record(tx, dup, "follow_first_clue", dup["state"], actor, {
            "duplicate_of": first["id"], "lead": values["lead_department"], "co": values["co_departments"],
            "domain": values["domain"]})


async def dispatch(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, lead: str, co: list[str],
                   domain: Domain | None, note: str | None, arbitrate: bool) -> dict:
    """The office dispatches a queued clue, re-dispatches a returned one, or arbitrates (仲裁) it: the
    named department must take it and cannot return it again."""
    if not actor.has(Role.OFFICE):
        raise Problem(403, "only the office dispatches, re-dispatches and arbitrates clues")
    clue = await access.load(tx.session, clue_id, actor)
    lead = access.check_department(lead, "lead")
    co = [access.check_department(c, "co") for c in co]
    if arbitrate and clue["state"] != State.RETURNED:
        raise Problem(409, f"only a returned clue is arbitrated; this one is {clue['state']}", state=clue["state"])
    action = "arbitrate" if arbitrate else ("redispatch" if clue["state"] == State.RETURNED else "dispatch")
    await send_to_departments(deps, tx, clue, lead=lead, co=co, domain=domain, actor=actor, note=note,
                              record_as=action, arbitrated=arbitrate)
    return clue
