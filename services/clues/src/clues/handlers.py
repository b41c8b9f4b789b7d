"""One function per command or incoming event. Routes and consumers call these; they call the domain
rules and the repository, and publish through the outbox in the same transaction as the change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, departments, divisions, topics
from jsp_common.db import Database
from jsp_common.domains import Domain
from jsp_common.events.clues import (CaseTransferChanged, Channel, ClueChased, ClueDispatched, ClueEscalated,
                                     ClueTransitioned, Finding, ReplyPublished, SubmissionAccepted,
                                     SubmissionRejected, _ClueFields)
from jsp_common.masking import mask_name, mask_phone
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal, Role
from jsp_common.problems import Problem
from jsp_common.workdays import WorkCalendar

from .adapters import repository as repo
from .adapters.crypto import PiCipher
from .domain import deadlines, lifecycle, transfers
from .domain.lifecycle import NotAllowed, State
from .domain.routing import Route, RoutingInput, route
from .domain.text import dice, match_confidence, search_grams
from .settings import Settings

HOTLINE_REPLIES = "hotline.replies.v1"
CHANNEL_REPLIES = "clues.channel-replies.v1"
LIFECYCLE = "clues.lifecycle.v1"
CASE_TRANSFERS = "clues.case-transfers.v1"


@dataclass
class Deps:
    """What the handlers need, built once in bootstrap."""

    settings: Settings
    db: Database
    cipher: PiCipher
    calendar: WorkCalendar
    config: repo.ConfigCache
    source: str


# The service acting on its own account.
INTAKE = Principal(subject="clues.intake", roles=[])
SCANNER = Principal(subject="clues.deadline-scan", roles=[])


def sees_personal_info(actor: Principal) -> bool:
    return actor.has(Role.OFFICE, Role.HOTLINE)


def reply_topic(channel: str) -> str:
    return HOTLINE_REPLIES if channel == Channel.HOTLINE else CHANNEL_REPLIES


# ====================================================================== recording
async def _set(tx: Tx, clue: dict, **values: Any) -> None:
    await repo.update_clue(tx.session, clue["id"], **values)
    clue.update(values)


async def _record(tx: Tx, clue: dict, action: str, from_state: str | None, actor: Principal,
                  details: dict | None = None) -> None:
    """Keep one transition (who, when, from, to, what) and publish it on the lifecycle topic."""
    at = clock.now()
    details = details or {}
    await repo.add_transition(tx.session, clue_id=clue["id"], at=at, actor=actor.subject,
                              actor_department=actor.department, action=action, from_state=from_state,
                              to_state=clue["state"], details=details)
    await tx.emit(LIFECYCLE, ClueTransitioned(
        clue_id=clue["id"], channel=clue["channel"], channel_ref=clue["channel_ref"], action=action,
        from_state=from_state, to_state=clue["state"], actor=actor.subject, actor_department=actor.department,
        at=at, domain=clue.get("domain"), division_code=clue.get("division_code"), uscc=clue.get("uscc"),
        lead_department=clue.get("lead_department"), co_departments=list(clue.get("co_departments") or []),
        deadline=clue.get("deadline"), details=details), key=clue["id"])


def _allowed(clue: dict, action: str) -> State:
    """The state ``action`` leads the clue to; 409 when its state does not allow it."""
    try:
        return lifecycle.next_state(clue["state"], action)
    except NotAllowed as exc:
        raise Problem(409, str(exc), state=clue["state"]) from None


async def _move(tx: Tx, clue: dict, action: str, actor: Principal, *, record_as: str | None = None,
                details: dict | None = None, **values: Any) -> None:
    """Apply a state-machine action (409 when the state does not allow it) and record it."""
    from_state = clue["state"]
    to = _allowed(clue, action)
    await _set(tx, clue, state=to.value, **values)
    await _record(tx, clue, record_as or action, from_state, actor, details)


# ====================================================================== intake
async def match_business(deps: Deps, session: AsyncSession, *, uscc: str | None, name: str | None,
                         address: str | None, division_code: str | None) -> tuple[dict | None, str | None, float | None]:
    """The directory entity a clue is about: by USCC, else by name and place (with a confidence)."""
    if uscc:
        return await repo.entity(session, uscc), "uscc", 1.0
    if not name or not search_grams(name):
        return None, None, None
    candidates = await repo.entity_candidates(session, name, city_code=divisions.city_code(division_code),
                                              limit=deps.settings.match_candidates)
    best, best_score = None, 0.0
    for c in candidates:
        score = match_confidence(name, address, c["name"], c["address"])
        if score > best_score:
            best, best_score = c, score
    if best is not None and best_score >= deps.settings.match_min_confidence:
        return best, "name_place", best_score
    return None, None, None


def _place_of(fields: _ClueFields) -> str | None:
    if fields.division_code:
        return fields.division_code
    for text in (fields.address, fields.content):
        if text:
            d = divisions.find_in_text(text)
            if d is not None:
                return d.code
    return None


def _new_clue_id(received_at: datetime) -> str:
    return f"CL{clock.as_local(received_at):%Y%m%d}-{uuid.uuid4().hex[:12]}"


async def intake(deps: Deps, tx: Tx, *, channel: str, channel_ref: str, fields: _ClueFields,
                 caller_name: str | None, caller_phone: str | None, source_event_id: str | None,
                 actor: Principal = INTAKE) -> dict:
    """Take in one clue: recognise a resend, match the business, link a duplicate or route and dispatch
    (or queue it for the office), and send the receipt to the channel."""
    session = tx.session
    existing = await repo.clue_by_ref(session, channel, channel_ref)
    if existing is not None:
        await tx.emit(reply_topic(channel), SubmissionAccepted(
            channel=channel, channel_ref=channel_ref, clue_id=existing["id"], state=existing["state"], resent=True,
            duplicate_of=existing["duplicate_of"], source_event_id=source_event_id), key=channel_ref)
        return existing
    cfg = await deps.config.refresh(session)
    place = _place_of(fields)
    ent, method, confidence = await match_business(deps, session, uscc=fields.uscc, name=fields.business_name,
                                                   address=fields.address, division_code=place)
    uscc = fields.uscc or (ent["uscc"] if ent else None)
    division = place or (ent["division_code"] if ent else None)
    clue = {
        "id": _new_clue_id(fields.received_at), "channel": channel, "channel_ref": channel_ref,
        "source_event_id": source_event_id, "content": fields.content, "category": fields.category,
        "received_at": fields.received_at, "address": fields.address, "division_code": division,
        "business_name": fields.business_name or (ent["name"] if ent else None), "uscc": uscc,
        "match_method": method, "match_confidence": confidence,
        "domain": fields.domain.value if fields.domain else None, "urgency": fields.urgency.value,
        "caller_name_enc": deps.cipher.encrypt(caller_name), "caller_phone_enc": deps.cipher.encrypt(caller_phone),
        "caller_name_masked": mask_name(caller_name), "caller_phone_masked": mask_phone(caller_phone) if caller_phone else None,
        "state": State.RECEIVED.value, "co_departments": [], "round": 0, "arbitrated": False,
    }
    inserted = await repo.insert_clue(session, clue)
    if inserted is None:  # a resend racing its first delivery
        return await intake(deps, tx, channel=channel, channel_ref=channel_ref, fields=fields, caller_name=None,
                            caller_phone=None, source_event_id=source_event_id, actor=actor)
    clue = inserted
    await _record(tx, clue, "receive", None, actor, {"match_method": method, "match_confidence": confidence})

    decision = route(RoutingInput(
        content=fields.content, division_code=division, domain_hint=fields.domain,
        entity_departments=tuple(ent["responsible_departments"]) if ent else (),
        entity_division_code=ent["division_code"] if ent else None,
        names=tuple(n for n in (fields.business_name, ent["name"] if ent else None) if n)), cfg.rules)
    domain = decision.domain
    first = await _find_duplicate(deps, tx, clue, domain)
    if first is not None:
        primary, similarity = first
        await _move(tx, clue, "link", actor, details={"duplicate_of": primary["id"], "similarity": similarity},
                    duplicate_of=primary["id"], duplicate_similarity=similarity, domain=primary["domain"],
                    lead_department=primary["lead_department"])
    elif isinstance(decision, Route):
        await _dispatch(deps, tx, clue, lead=decision.lead, co=list(decision.co), domain=decision.domain,
                        actor=actor, note=decision.reason, record_as="dispatch")
    else:
        await _move(tx, clue, "queue", actor, details={"reason": decision.reason},
                    domain=domain.value if domain else None, routing_note=decision.reason)
    await tx.emit(reply_topic(channel), SubmissionAccepted(
        channel=channel, channel_ref=channel_ref, clue_id=clue["id"], state=clue["state"],
        duplicate_of=clue.get("duplicate_of"), source_event_id=source_event_id), key=channel_ref)
    return clue


async def _find_duplicate(deps: Deps, tx: Tx, clue: dict, domain: Domain | None) -> tuple[dict, float] | None:
    s = deps.settings
    since = clock.as_local(clue["received_at"]) - timedelta(days=s.duplicate_window_days)
    candidates = await repo.duplicate_candidates(tx.session, clue_id=clue["id"], uscc=clue["uscc"],
                                                 division_code=clue["division_code"], since=since)
    threshold = s.duplicate_min_similarity if clue["uscc"] else s.duplicate_min_similarity_no_business
    best: tuple[dict, float] | None = None
    for c in candidates:
        if domain is not None and c["domain"] and c["domain"] != domain.value:
            continue
        sim = round(dice(clue["content"], c["content"]), 3)
        if sim >= threshold and (best is None or sim > best[1]):
            best = (c, sim)
    if best is None:
        return None
    primary = await repo.get_clue(tx.session, best[0]["id"])
    return (primary, best[1]) if primary else None


# ====================================================================== dispatch
def _check_department(code: str, field_name: str) -> str:
    try:
        return departments.department(code).code
    except departments.UnknownDepartment as exc:
        raise Problem(422, str(exc), errors=[{"field": field_name, "reason": str(exc)}]) from None


async def _dispatch(deps: Deps, tx: Tx, clue: dict, *, lead: str, co: list[str], domain: Domain | str | None,
                    actor: Principal, note: str | None, record_as: str, arbitrated: bool = False,
                    reopen: bool = False, details: dict | None = None) -> None:
    """Send a clue to its lead and co-handling departments, each on its own topic."""
    s = deps.settings
    await deps.config.refresh(tx.session)
    now = clock.now()
    domain_value = Domain(domain).value if domain else (clue["domain"] or Domain.OTHER.value)
    deadline = clue["deadline"]
    if deadline is None or reopen:
        start = now if reopen else clue["received_at"]
        n = deadlines.handling_workdays(deps.config.policies, clue["channel"], clue["urgency"],
                                        s.deadline_fallback_workdays)
        deadline = deadlines.handling_deadline(deps.calendar, start, n)
    co = [d for d in dict.fromkeys(co) if d != lead]
    values = dict(lead_department=lead, co_departments=co, domain=domain_value, round=clue["round"] + 1,
                  arbitrated=arbitrated, dispatched_at=now, deadline=deadline,
                  return_deadline=deps.calendar.add_workdays(now, s.return_within_workdays),
                  routing_note=note)
    if reopen:
        values.update(chased_at=None, escalated_at=None, closed_at=None)
    info = {"lead": lead, "co": co, "note": note, "arbitrated": arbitrated, **(details or {})}
    await _move(tx, clue, "reopen" if reopen else "dispatch", actor, record_as=record_as, details=info, **values)
    for dept, role in [(lead, "lead"), *[(d, "co") for d in co]]:
        await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, dept), ClueDispatched(
            clue_id=clue["id"], department=dept, role=role, deadline=clue["deadline"], round=clue["round"],
            channel=clue["channel"], channel_ref=clue["channel_ref"], content=clue["content"],
            received_at=clue["received_at"], address=clue["address"], division_code=clue["division_code"],
            business_name=clue["business_name"], uscc=clue["uscc"], match_confidence=clue["match_confidence"],
            domain=clue["domain"], urgency=clue["urgency"], lead_department=lead, co_departments=co,
            return_deadline=clue["return_deadline"], caller_name=clue["caller_name_masked"],
            caller_phone=clue["caller_phone_masked"], arbitrated=arbitrated), key=clue["id"])


# ====================================================================== access
def can_see(clue: dict, actor: Principal) -> bool:
    if actor.has(Role.OFFICE):
        return True
    if actor.has(Role.DEPARTMENT) and actor.department and (
            clue["lead_department"] == actor.department or actor.department in (clue["co_departments"] or [])):
        return True
    if actor.has(Role.HOTLINE) and clue["channel"] == Channel.HOTLINE:
        return True
    return False


async def load(tx: Tx, clue_id: str, actor: Principal, *, for_update: bool = True) -> dict:
    clue = await repo.get_clue(tx.session, clue_id, for_update=for_update)
    if clue is None or not can_see(clue, actor):
        raise Problem(404, f"no clue {clue_id}")
    return clue


def _require_lead(clue: dict, actor: Principal, *, office_too: bool = False, what: str) -> None:
    if office_too and actor.has(Role.OFFICE):
        return
    if actor.has(Role.DEPARTMENT) and actor.department == clue["lead_department"]:
        return
    raise Problem(403, f"only the lead department ({clue['lead_department']}) may {what}"
                       + (" (or the office)" if office_too else ""))


def view(deps: Deps, clue: dict, actor: Principal) -> dict:
    """A clue as this caller may see it: personal details in clear only for the office and the hotline."""
    out = {k: v for k, v in clue.items() if not k.endswith("_enc") and not k.endswith("_masked")}
    if sees_personal_info(actor):
        out["caller_name"] = deps.cipher.decrypt(clue["caller_name_enc"])
        out["caller_phone"] = deps.cipher.decrypt(clue["caller_phone_enc"])
    else:
        out["caller_name"] = clue["caller_name_masked"]
        out["caller_phone"] = clue["caller_phone_masked"]
    return out


# ====================================================================== department actions
async def dispatch(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, lead: str, co: list[str],
                   domain: Domain | None, note: str | None, arbitrate: bool) -> dict:
    """The office dispatches a queued clue, re-dispatches a returned one, or arbitrates (仲裁) it: the
    named department must take it and cannot return it again."""
    if not actor.has(Role.OFFICE):
        raise Problem(403, "only the office dispatches, re-dispatches and arbitrates clues")
    clue = await load(tx, clue_id, actor)
    lead = _check_department(lead, "lead")
    co = [_check_department(c, "co") for c in co]
    if arbitrate and clue["state"] != State.RETURNED:
        raise Problem(409, f"only a returned clue is arbitrated; this one is {clue['state']}", state=clue["state"])
    action = "arbitrate" if arbitrate else ("redispatch" if clue["state"] == State.RETURNED else "dispatch")
    await _dispatch(deps, tx, clue, lead=lead, co=co, domain=domain, actor=actor, note=note, record_as=action,
                    arbitrated=arbitrate)
    return clue


async def accept(deps: Deps, tx: Tx, clue_id: str, actor: Principal) -> dict:
    clue = await load(tx, clue_id, actor)
    _require_lead(clue, actor, what="accept this clue")
    await _move(tx, clue, "accept", actor)
    for t in await repo.transfers_of_clue(tx.session, clue_id, direction="from_police", status=transfers.RECEIVED):
        await _transfer_step(tx, t, "accept_returned", actor, change="accepted", department=actor.department)
    return clue


async def return_clue(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, reason: str) -> dict:
    """Return (退回) a misrouted clue to the office, within the return window, unless it was arbitrated."""
    clue = await load(tx, clue_id, actor)
    _require_lead(clue, actor, what="return this clue")
    if clue["state"] == State.DISPATCHED:
        if clue["arbitrated"]:
            raise Problem(409, "the office arbitrated this clue to your department; it cannot be returned",
                          state=clue["state"])
        if clue["return_deadline"] and clock.now() > clue["return_deadline"]:
            raise Problem(409, f"the return window closed at {clue['return_deadline'].isoformat()} "
                               f"({deps.settings.return_within_workdays} working days after dispatch)",
                          state=clue["state"])
    await _move(tx, clue, "return", actor, details={"reason": reason, "department": actor.department})
    return clue


async def start_verification(deps: Deps, tx: Tx, clue_id: str, actor: Principal) -> dict:
    clue = await load(tx, clue_id, actor)
    _require_lead(clue, actor, what="verify this clue")
    await _move(tx, clue, "verify", actor)
    return clue


async def handle(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, finding: Finding, measures: str) -> dict:
    clue = await load(tx, clue_id, actor)
    _require_lead(clue, actor, what="record the handling of this clue")
    await _move(tx, clue, "handle", actor, details={"finding": finding.value, "measures": measures},
                finding=finding.value, measures=measures)
    return clue


def _default_reply(clue: dict) -> str:
    names = {"substantiated": "属实", "partly": "部分属实", "unsubstantiated": "不属实"}
    return f"经核查，反映情况{names.get(clue['finding'], '')}。处理措施：{clue['measures']}"


async def reply(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, text: str | None) -> dict:
    """Publish the outcome to the source channel; linked duplicates are answered by the same outcome."""
    clue = await load(tx, clue_id, actor)
    _require_lead(clue, actor, office_too=True, what="reply")
    now = clock.now()
    reply_text = text or _default_reply(clue)
    await _move(tx, clue, "reply", actor, details={"reply_text": reply_text}, reply_text=reply_text, replied_at=now)
    targets = [(clue, None)] + [(d, clue["id"]) for d in await repo.linked_duplicates(tx.session, clue_id,
                                                                                      State.LINKED.value)]
    for target, answered_by in targets:
        if answered_by:
            await _move(tx, target, "answer", actor, details={"answered_by": answered_by},
                        finding=clue["finding"], measures=clue["measures"], reply_text=reply_text, replied_at=now)
        await tx.emit(reply_topic(target["channel"]), ReplyPublished(
            clue_id=target["id"], channel=target["channel"], channel_ref=target["channel_ref"],
            finding=clue["finding"], measures=clue["measures"], reply_text=reply_text,
            lead_department=clue["lead_department"], replied_at=now, answered_by_clue_id=answered_by),
            key=target["channel_ref"])
    return clue


async def close(deps: Deps, tx: Tx, clue_id: str, actor: Principal) -> dict:
    clue = await load(tx, clue_id, actor)
    if not actor.has(Role.OFFICE, Role.HOTLINE):
        _require_lead(clue, actor, office_too=True, what="close this clue")
    now = clock.now()
    await _move(tx, clue, "close", actor, closed_at=now)
    for dup in await repo.linked_duplicates(tx.session, clue_id, State.REPLIED.value):
        await _move(tx, dup, "close", actor, details={"closed_with": clue_id}, closed_at=now)
    return clue


async def revisit(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, satisfied: bool, comment: str | None) -> dict:
    """Record the caller's satisfaction (回访); an unsatisfied revisit reopens the clue to its departments."""
    if not actor.has(Role.OFFICE, Role.HOTLINE):
        raise Problem(403, "revisits are recorded by the hotline or the office")
    clue = await load(tx, clue_id, actor)
    details = {"satisfied": satisfied, "comment": comment}
    if satisfied:
        await _move(tx, clue, "revisit", actor, details=details, satisfaction="satisfied")
    else:
        await _set(tx, clue, satisfaction="unsatisfied")
        await _dispatch(deps, tx, clue, lead=clue["lead_department"], co=list(clue["co_departments"]),
                        domain=clue["domain"], actor=actor, note="reopened after an unsatisfied revisit",
                        record_as="reopen", reopen=True, details=details)
    return clue


# ====================================================================== extensions
async def request_extension(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, workdays: int, reason: str) -> dict:
    clue = await load(tx, clue_id, actor)
    _require_lead(clue, actor, what="request an extension")
    _allowed(clue, "request_extension")
    if not 1 <= workdays <= deps.settings.max_extension_workdays:
        raise Problem(422, f"an extension is 1 to {deps.settings.max_extension_workdays} working days",
                      errors=[{"field": "workdays", "reason": "out of range"}])
    ext_id = await repo.add_extension(tx.session, clue_id=clue_id, department=actor.department,
                                      requested_by=actor.subject, requested_at=clock.now(), workdays=workdays,
                                      reason=reason, status="pending")
    await _record(tx, clue, "request_extension", clue["state"], actor,
                  {"extension_id": ext_id, "workdays": workdays, "reason": reason})
    return {"id": ext_id, "clue_id": clue_id, "workdays": workdays, "reason": reason, "status": "pending"}


async def decide_extension(deps: Deps, tx: Tx, clue_id: str, ext_id: int, actor: Principal, *, approved: bool,
                           note: str | None) -> dict:
    clue = await load(tx, clue_id, actor)
    ext = await repo.get_extension(tx.session, clue_id, ext_id)
    if ext is None:
        raise Problem(404, f"no extension {ext_id} on clue {clue_id}")
    if ext["status"] != "pending":
        raise Problem(409, f"extension {ext_id} was already {ext['status']}")
    _allowed(clue, "decide_extension")
    new_deadline = deps.calendar.add_workdays(clue["deadline"], ext["workdays"]) if approved else None
    status = "approved" if approved else "refused"
    await repo.update_extension(tx.session, ext_id, status=status, decided_by=actor.subject,
                                decided_at=clock.now(), note=note, new_deadline=new_deadline)
    if approved:
        await _set(tx, clue, deadline=new_deadline, chased_at=None, escalated_at=None)
    await _record(tx, clue, "approve_extension" if approved else "refuse_extension", clue["state"], actor,
                  {"extension_id": ext_id, "workdays": ext["workdays"], "note": note,
                   "new_deadline": new_deadline.isoformat() if new_deadline else None})
    return {**ext, "status": status, "decided_by": actor.subject, "note": note, "new_deadline": new_deadline}


# ====================================================================== deadline scan
async def scan_deadlines(deps: Deps, now: datetime | None = None) -> int:
    """Chasers (催办) for clues near or past their deadline, then escalations (督办). Returns how many sent."""
    s = deps.settings
    now = now or clock.now()
    horizon = now + timedelta(days=3 * s.chase_when_workdays_left + 14)  # generous: holidays in between
    sent = 0
    async with deps.db.transaction() as session:
        tx = SessionTx(session, deps.source)
        for clue in await repo.timed_clues(session, before=horizon):
            due = deadlines.due_action(deps.calendar, now, clue["deadline"], chased=clue["chased_at"] is not None,
                                       escalated=clue["escalated_at"] is not None,
                                       chase_when_left=s.chase_when_workdays_left,
                                       escalate_after_overdue=s.escalate_after_overdue_workdays)
            lead = clue["lead_department"]
            if isinstance(due, deadlines.Chase):
                await _set(tx, clue, chased_at=now)
                await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, lead), ClueChased(
                    clue_id=clue["id"], department=lead, role="lead", deadline=clue["deadline"],
                    state=clue["state"], workdays_left=due.workdays_left), key=clue["id"])
                await _record(tx, clue, "chase", clue["state"], SCANNER, {"workdays_left": due.workdays_left})
                sent += 1
            elif isinstance(due, deadlines.Escalate):
                await _set(tx, clue, escalated_at=now)
                office = departments.department_for("office", departments.department(lead).division_code).code
                for dept in dict.fromkeys([lead, office]):
                    await tx.emit(topics.department_topic(topics.DEPARTMENT_CLUES, dept), ClueEscalated(
                        clue_id=clue["id"], department=dept, role="lead" if dept == lead else "co",
                        deadline=clue["deadline"], state=clue["state"], overdue_workdays=due.overdue_workdays),
                        key=clue["id"])
                await _record(tx, clue, "escalate", clue["state"], SCANNER,
                              {"overdue_workdays": due.overdue_workdays, "office": office})
                sent += 1
    return sent


# ====================================================================== case transfer (行刑衔接)
async def _emit_transfer(tx: Tx, t: dict, change: str, actor: Principal, reason: str | None = None) -> None:
    await tx.emit(CASE_TRANSFERS, CaseTransferChanged(
        transfer_id=t["id"], clue_id=t["clue_id"], direction=t["direction"], status=t["status"], change=change,
        department=t["department"], police_department=t["police_department"],
        procuratorate_department=t["procuratorate_department"], documents=list(t["documents"]),
        team=list(t["team"]), approval_deadline=t["approval_deadline"], handover_deadline=t["handover_deadline"],
        decision_deadline=t["decision_deadline"], decision=t["decision"], reason=reason, case_ref=t["case_ref"],
        overdue=list(t["overdue"]), actor=actor.subject, at=clock.now()), key=t["id"])


async def _transfer_step(tx: Tx, t: dict, action: str, actor: Principal, *, change: str,
                         reason: str | None = None, **values: Any) -> dict:
    try:
        status = transfers.next_status(t["status"], action)
    except transfers.TransferNotAllowed as exc:
        raise Problem(409, str(exc), transfer_status=t["status"]) from None
    values = {k: v for k, v in values.items() if v is not None}
    await repo.update_transfer(tx.session, t["id"], status=status, **values)
    t.update(status=status, **values)
    await _emit_transfer(tx, t, change, actor, reason)
    return t


def _division_of(clue: dict, fallback_department: str | None) -> str:
    if clue["division_code"]:
        return clue["division_code"]
    if fallback_department:
        return departments.department(fallback_department).division_code
    return divisions.PROVINCE_CODE


async def request_transfer(deps: Deps, tx: Tx, clue_id: str, actor: Principal, *, documents: list[str],
                           team: list[str], police_department: str | None) -> dict:
    """The lead department's case team asks to transfer the case to public security (移送公安)."""
    clue = await load(tx, clue_id, actor)
    _require_lead(clue, actor, what="transfer this case")
    _allowed(clue, "transfer_case")
    errors = transfers.check_request(documents, team)
    if errors:
        raise Problem(422, "the transfer request is incomplete: " + "; ".join(e["reason"] for e in errors),
                      errors=errors)
    division = _division_of(clue, clue["lead_department"])
    police = (_check_department(police_department, "police_department") if police_department
              else departments.department_for("mps", division).code)
    now = clock.now()
    t = dict(id=f"TR-{uuid.uuid4().hex[:12]}", clue_id=clue_id, direction="to_police",
             status=transfers.PENDING_APPROVAL, department=clue["lead_department"], police_department=police,
             procuratorate_department=departments.department_for("procuratorate", division).code,
             documents=documents, team=team, case_ref=None, requested_by=actor.subject, requested_at=now,
             approval_deadline=now + timedelta(days=deps.settings.transfer_approval_days), handover_deadline=None,
             decision_deadline=None, decision=None, overdue=[])
    await repo.add_transfer(tx.session, **t)
    await _emit_transfer(tx, t, "requested", actor)
    await _record(tx, clue, "transfer_case", clue["state"], actor, {"transfer_id": t["id"], "police": police})
    return t


async def load_transfer(tx: Tx, transfer_id: str, actor: Principal, *, for_update: bool = True) -> dict:
    t = await repo.get_transfer(tx.session, transfer_id, for_update=for_update)
    if t is not None and (actor.has(Role.OFFICE) or (actor.has(Role.DEPARTMENT) and actor.department in (
            t["department"], t["police_department"], t["procuratorate_department"]))):
        return t
    raise Problem(404, f"no case transfer {transfer_id}")


async def decide_transfer_approval(deps: Deps, tx: Tx, transfer_id: str, actor: Principal, *, approved: bool,
                                   reason: str | None) -> dict:
    """The agency head approves (handover within 24 hours) or refuses with reasons."""
    t = await load_transfer(tx, transfer_id, actor)
    if not (actor.has(Role.OFFICE) or actor.department == t["department"]):
        raise Problem(403, f"the head of {t['department']} approves this transfer")
    if not approved and not reason:
        raise Problem(422, "a refusal is recorded with its reasons", errors=[{"field": "reason", "reason": "required"}])
    now = clock.now()
    if approved:
        return await _transfer_step(tx, t, "approve", actor, change="approved", reason=reason,
                                    approved_by=actor.subject, approved_at=now,
                                    handover_deadline=now + timedelta(hours=deps.settings.transfer_handover_hours))
    return await _transfer_step(tx, t, "refuse", actor, change="refused", reason=reason,
                                approved_by=actor.subject, approved_at=now, refusal_reason=reason)


async def hand_over(deps: Deps, tx: Tx, transfer_id: str, actor: Principal, *, documents: list[str] | None) -> dict:
    """The file goes to the police, a copy to the procuratorate; the police decision timer starts."""
    t = await load_transfer(tx, transfer_id, actor)
    if not (actor.has(Role.OFFICE) or actor.department == t["department"]):
        raise Problem(403, f"{t['department']} hands this case over")
    now = clock.now()
    return await _transfer_step(tx, t, "hand_over", actor, change="handed_over",
                                reason=f"copy to {t['procuratorate_department']}", handed_over_at=now,
                                documents=documents or None,
                                decision_deadline=now + timedelta(days=deps.settings.transfer_police_decision_days))


async def police_decision(deps: Deps, tx: Tx, transfer_id: str, actor: Principal, *, open_case: bool,
                          reason: str | None, case_ref: str | None) -> dict:
    t = await load_transfer(tx, transfer_id, actor)
    if not (actor.has(Role.OFFICE) or actor.department == t["police_department"]):
        raise Problem(403, f"the decision is recorded by {t['police_department']}")
    return await _transfer_step(tx, t, "open_case" if open_case else "decline", actor,
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
        ts = await repo.transfers_of_clue(tx.session, existing["id"], direction="from_police")
        if ts:
            return existing, ts[0]
    clue = await intake(deps, tx, channel=Channel.PUBLIC_SECURITY.value, channel_ref=case_ref, fields=fields,
                        caller_name=None, caller_phone=None, source_event_id=None, actor=actor)
    division = _division_of(clue, clue["lead_department"])
    t = dict(id=f"TR-{uuid.uuid4().hex[:12]}", clue_id=clue["id"], direction="from_police",
             status=transfers.RECEIVED,
             department=clue["lead_department"] or departments.department_for("office", division).code,
             police_department=police or departments.department_for("mps", division).code,
             procuratorate_department=None, documents=documents, team=[], case_ref=case_ref,
             requested_by=actor.subject, requested_at=clock.now(), approval_deadline=None, handover_deadline=None,
             decision_deadline=None, decision=None, overdue=[])
    await repo.add_transfer(tx.session, **t)
    await _emit_transfer(tx, t, "received", actor)
    return clue, t


async def scan_transfer_timers(deps: Deps, now: datetime | None = None) -> int:
    """Announce each statutory timer that ran out (once per timer)."""
    now = now or clock.now()
    n = 0
    async with deps.db.transaction() as session:
        tx = SessionTx(session, deps.source)
        for t in await repo.open_transfers(session):
            late = [x for x in transfers.overdue_timers(t["status"], now, approval_deadline=t["approval_deadline"],
                                                        handover_deadline=t["handover_deadline"],
                                                        decision_deadline=t["decision_deadline"])
                    if x not in t["overdue"]]
            if late:
                t["overdue"] = list(t["overdue"]) + late
                await repo.update_transfer(session, t["id"], overdue=t["overdue"])
                await _emit_transfer(tx, t, "timer_overdue", SCANNER, reason=", ".join(late) + " overdue")
                n += 1
    return n


async def periodic_scan(deps: Deps) -> None:
    await scan_deadlines(deps)
    await scan_transfer_timers(deps)


# ====================================================================== receipts for refused messages
def rejection(topic: str, key: str | None, data: Any, reason: str, details: Any,
              source_event_id: str | None) -> tuple[str, SubmissionRejected, str | None]:
    """The rejection receipt for a message that cannot be taken in, and where it goes."""
    doc = data if isinstance(data, dict) else {}
    hotline = topic == "hotline.work-orders.v1"
    channel = "hotline" if hotline else (doc.get("channel") if isinstance(doc.get("channel"), str) else None)
    ref = doc.get("work_order_no" if hotline else "channel_ref")
    ref = ref if isinstance(ref, str) and ref else key
    errors = details if isinstance(details, list) else []
    return (HOTLINE_REPLIES if hotline else CHANNEL_REPLIES,
            SubmissionRejected(channel=channel, channel_ref=(ref or None) and str(ref)[:200],
                               source_event_id=source_event_id, reason=reason[:2000],
                               errors=[{"field": str(e.get("field")), "reason": str(e.get("reason"))}
                                       for e in errors if isinstance(e, dict)]),
            ref)
