"""Case transfer to public security (行刑衔接, State Council Decree 310): the request with its documents and
team, the agency head's approval, the handover (a copy to the procuratorate), the police decision, a case the
police send back as a clue, and the statutory timers announced when they run out. The approval's and the police
decision's limits are working days (``domain/transfers.py``), recounted when a holiday schedule is published
(``usecases/schedules.py``); the handover's are hours."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, departments, divisions, topics
from jsp_common.events.clues import CaseTransferChanged, Channel, _ClueFields
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..adapters import transfers as transfer_rows
from ..deps import Deps
from ..domain import deadlines
from ..domain import transfers as rules
from . import access, journal
from .intake import intake


async def publish(tx: Tx, t: dict, change: str, actor: Principal, reason: str | None = None) -> None:
    """The transfer as it is now on ``clues.case-transfers.v1`` (``change`` says what happened)."""
    await tx.emit(topics.CASE_TRANSFERS, CaseTransferChanged(
        transfer_id=t["id"], clue_id=t["clue_id"], direction=t["direction"], status=t["status"], change=change,
        department=t["department"], police_department=t["police_department"],
        procuratorate_department=t["procuratorate_department"], documents=list(t["documents"]),
        team=list(t["team"]), approval_deadline=t["approval_deadline"], handover_deadline=t["handover_deadline"],
        decision_deadline=t["decision_deadline"], decision=t["decision"], reason=reason, case_ref=t["case_ref"],
        overdue=list(t["overdue"]), actor=actor.subject, at=clock.now()), key=t["id"])


async def step(tx: Tx, t: dict, action: str, actor: Principal, *, change: str, reason: str | None = None,
               **values: Any) -> dict:
    """Move a transfer by its state machine (409 when its status does not allow it) and publish the change."""
    try:
        status = rules.next_status(t["status"], action)
    except rules.TransferNotAllowed as exc:
        raise Problem(409, str(exc), transfer_status=t["status"]) from None
    values = {k: v for k, v in values.items() if v is not None}
    await transfer_rows.update_transfer(tx.session, t["id"], status=status, **values)
    t.update(status=status, **values)
    await publish(tx, t, change, actor, reason)
    return t


def _division_of(clue: dict, fallback_department: str | None) -> str:
    if clue["division_code"]:
        return clue["division_code"]
    if fallback_department:
        return departments.department(fallback_department).division_code
    return divisions.PROVINCE_CODE


def _new_transfer(**values: Any) -> dict:
    """A transfer row by name: every column not given starts empty."""
    return {"id": f"TR-{uuid.uuid4().hex[:12]}", "procuratorate_department": None, "case_ref": None,
            **deadlines.unset("approval_deadline"), "handover_deadline": None, **deadlines.unset("decision_deadline"),
            "decision": None, "overdue": [], "requested_at": clock.now(), **values}


async def request_transfer(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, documents: list[str],
                           team: list[str], police_department: str | None) -> dict:
    """The lead department's case team asks to transfer the case to public security (移送公安)."""
    clue = await access.load(tx.session, clue_id, actor)
    access.require_lead(clue, actor, what="transfer this case")
    journal.allowed(clue, "transfer_case")
    errors = rules.check_request(documents, team, min_team=deps.settings.transfer_min_team)
    if errors:
        raise Problem(422, "the transfer request is incomplete: " + "; ".join(e["reason"] for e in errors),
                      errors=errors)
    for earlier in await transfer_rows.transfers_of_clue(tx.session, clue_id, direction="to_police"):
        if earlier["status"] in rules.NO_NEW_TRANSFER:
            why = (f"the police opened a criminal case on it ({earlier['id']}, case {earlier['case_ref'] or 'no ref'})"
                   if earlier["status"] == rules.CASE_OPENED else
                   f"the case is being transferred already ({earlier['id']}, {earlier['status']})")
            raise Problem(409, why, transfer_id=earlier["id"], transfer_status=earlier["status"])
    division = _division_of(clue, clue["lead_department"])
    police = (access.check_department(police_department, "police_department") if police_department
              else departments.department_for("mps", division).code)
    if departments.department(police).agency.code != "mps":  # the one who then records the police's decision
        raise Problem(422, f"{police} is not a public security department",
                      errors=[{"field": "police_department", "reason": "not a public security (mps) department"}])
    now = clock.now()
    t = _new_transfer(clue_id=clue_id, direction="to_police", status=rules.PENDING_APPROVAL,
                      department=clue["lead_department"], police_department=police,
                      procuratorate_department=departments.department_for("procuratorate", division).code,
                      documents=documents, team=team, requested_by=actor.subject, requested_at=now,
                      **deadlines.counted(deps.calendar, now, deps.settings.transfer_approval_days
                                          ).columns("approval_deadline"))
    await transfer_rows.add_transfer(tx.session, **t)
    await publish(tx, t, "requested", actor)
    await journal.record(tx, clue, "transfer_case", clue["state"], actor, {"transfer_id": t["id"], "police": police})
    return t


async def load_transfer(session: AsyncSession, transfer_id: str, actor: Principal, *, for_update: bool = True) -> dict:
    """A transfer its departments (and the office) may see; 404 for anyone else."""
    t = await transfer_rows.get_transfer(session, transfer_id, for_update=for_update)
    if t is not None and (actor.has(Role.OFFICE) or (actor.has(Role.DEPARTMENT) and actor.department in (
            t["department"], t["police_department"], t["procuratorate_department"]))):
        return t
    raise Problem(404, f"no case transfer {transfer_id}")


async def _load_for(tx: Tx, transfer_id: str, actor: Principal, role: str, refusal: str) -> dict:
    """The transfer, when ``actor`` is the office or the department in column ``role`` (else 403)."""
    t = await load_transfer(tx.session, transfer_id, actor)
    if not (actor.has(Role.OFFICE) or actor.department == t[role]):
        raise Problem(403, refusal.format(**t))
    return t


async def decide_transfer_approval(deps: Deps, tx: Tx, transfer_id: str, actor: Principal, *, approved: bool,
                                   reason: str | None) -> dict:
    """The agency head approves (handover within 24 hours) or refuses with reasons."""
    t = await _load_for(tx, transfer_id, actor, "department", "the head of {department} approves this transfer")
    if not approved and not reason:
        raise Problem(422, "a refusal is recorded with its reasons", errors=[{"field": "reason", "reason": "required"}])
    now = clock.now()
    if approved:
        return await step(tx, t, "approve", actor, change="approved", reason=reason,
                          approved_by=actor.subject, approved_at=now,
                          handover_deadline=now + timedelta(hours=deps.settings.transfer_handover_hours))
    return await step(tx, t, "refuse", actor, change="refused", reason=reason,
                      approved_by=actor.subject, approved_at=now, refusal_reason=reason)


async def hand_over(deps: Deps, tx: Tx, transfer_id: str, actor: Principal, *, documents: list[str] | None) -> dict:
    """The file goes to the police, a copy to the procuratorate; the police decision timer starts. ``documents``
    handed over besides those of the request are added to the file's list (those the law requires stay on it)."""
    t = await _load_for(tx, transfer_id, actor, "department", "{department} hands this case over")
    now = clock.now()
    added = [d for d in dict.fromkeys(documents or ()) if d not in t["documents"]]
    return await step(tx, t, "hand_over", actor, change="handed_over",
                      reason=f"copy to {t['procuratorate_department']}", handed_over_at=now,
                      documents=[*t["documents"], *added] if added else None,
                      **deadlines.counted(deps.calendar, now, deps.settings.transfer_police_decision_days
                                          ).columns("decision_deadline"))


async def police_decision(deps: Deps, tx: Tx, transfer_id: str, actor: Principal, *, open_case: bool,
                          reason: str | None, case_ref: str | None) -> dict:
    t = await _load_for(tx, transfer_id, actor, "police_department",
                        "the decision is recorded by {police_department}")
    return await step(tx, t, "open_case" if open_case else "decline", actor,
                      change="case_opened" if open_case else "declined", reason=reason,
                      decision="open_case" if open_case else "decline", decision_reason=reason,
                      decided_at=clock.now(), case_ref=case_ref)


async def receive_from_police(deps: Deps, tx: Tx, actor: Principal, *, case_ref: str, fields: _ClueFields,
                              documents: list[str]) -> tuple[dict, dict]:
    """A case the police send back for administrative handling: it becomes a clue (channel public_security),
    routed like any other; the transfer is accepted when the lead department accepts the clue."""
    police = actor.department
    if not actor.has(Role.OFFICE) and not (police and police.startswith("mps-")):
        raise Problem(403, "cases come back from public security (an mps department) or through the office")
    existing = await repo.clue_by_ref(tx.session, Channel.PUBLIC_SECURITY, case_ref)
    if existing is not None:
        ts = await transfer_rows.transfers_of_clue(tx.session, existing["id"], direction="from_police")
        if ts:
            _same_sender(ts[0], actor, case_ref)
            return existing, ts[0]
    clue = await intake(deps, tx, channel=Channel.PUBLIC_SECURITY.value, channel_ref=case_ref, fields=fields,
                        caller_name=None, caller_phone=None, source_event_id=None, actor=actor)
    # The same case sent at the same moment waited for the other request to take it in: its transfer stands.
    ts = await transfer_rows.transfers_of_clue(tx.session, clue["id"], direction="from_police")
    if ts:
        _same_sender(ts[0], actor, case_ref)
        return clue, ts[0]
    division = _division_of(clue, clue["lead_department"])
    t = _new_transfer(clue_id=clue["id"], direction="from_police", status=rules.RECEIVED,
                      department=clue["lead_department"] or departments.department_for("office", division).code,
                      # the police of the place when the office sends it (the office is no police department)
                      police_department=police if police and police.startswith("mps-") else
                      departments.department_for("mps", division).code,
                      documents=documents, team=[], case_ref=case_ref, requested_by=actor.subject)
    await transfer_rows.add_transfer(tx.session, **t)
    await publish(tx, t, "received", actor)
    return clue, t


def _same_sender(transfer: dict, actor: Principal, case_ref: str) -> None:
    """A case sent again is its sender's (the office may send for any): another public security department's case
    under the same reference is refused, not answered with the first one's clue."""
    if not actor.has(Role.OFFICE) and transfer["police_department"] != actor.department:
        raise Problem(409, f"case reference {case_ref} is another public security department's case: send yours "
                      "under a reference of your own", errors=[{"field": "case_ref", "reason": "taken"}])


async def announce_overdue_timers(scan: SessionTx, now: datetime, *, page: int = 500) -> int:
    """Announce each statutory timer that ran out (once per timer and deadline); returns how many transfers had
    one. The announcement's id derives from the transfer, its timer run out and that timer's deadline
    (``SessionTx.caused_by``): a deadline a holiday schedule moved later is announced anew when it runs out. The
    transfers are read ``page`` at a time until none is left to announce (an announced one no longer
    qualifies)."""
    n = 0
    while True:
        due = await transfer_rows.transfers_overdue(scan.session, now, limit=page)
        announced = 0
        for t in due:
            late = [x for x in rules.overdue_timers(t["status"], now, approval_deadline=t["approval_deadline"],
                                                    handover_deadline=t["handover_deadline"],
                                                    decision_deadline=t["decision_deadline"])
                    if x not in t["overdue"]]
            if late:
                t["overdue"] = list(t["overdue"]) + late
                await transfer_rows.update_transfer(scan.session, t["id"], overdue=t["overdue"])
                deadline = t[rules.RUNNING[t["status"]][1]]
                await publish(scan.caused_by("clues.transfer-timer", t["id"], *late, deadline.isoformat()), t,
                              "timer_overdue", access.SCANNER, reason=", ".join(late) + " overdue")
                announced += 1
        n += announced
        if len(due) < page or not announced:
            return n


async def scan_transfer_timers(deps: Deps, now: datetime | None = None, *, page: int = 500) -> int:
    """The periodic job: :func:`announce_overdue_timers` in a transaction of its own."""
    async with deps.db.transaction() as session:
        return await announce_overdue_timers(SessionTx(session, deps.source), now or clock.now(), page=page)
