"""Taking in a clue from any channel: a resend is recognised, the business matched against the registry
replica, a duplicate linked to its first clue, anything else routed and dispatched (or queued for the
office), and the channel gets its receipt."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, divisions
from jsp_common.domains import Domain
from jsp_common.events.clues import SubmissionAccepted, _ClueFields
from jsp_common.masking import mask_name, mask_phone
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal

from ..adapters import repository as repo
from ..deps import Deps
from ..domain.lifecycle import State
from ..domain.routing import Route, RoutingInput, route
from ..domain.text import dice, match_confidence, search_grams
from . import journal
from .access import INTAKE
from .dispatch import send_to_departments
from .replies import reply_topic


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


def _new_clue_id(tx: Tx, received_at: datetime, channel: str, channel_ref: str) -> str:
    """The clue's id, derived from the input that brings it (the same after a restore re-applies it)."""
    return f"CL{clock.as_local(received_at):%Y%m%d}-{tx.new_id('clue', channel, channel_ref).replace('-', '')[:12]}"


async def intake(deps: Deps, tx: Tx, *, channel: str, channel_ref: str, fields: _ClueFields,
                 caller_name: str | None, caller_phone: str | None, source_event_id: str | None,
                 actor: Principal = INTAKE) -> dict:
    """Take in one clue and send the receipt to its channel; returns the clue."""
    session = tx.session
    existing = await repo.clue_by_ref(session, channel, channel_ref)
    if existing is not None:
        await tx.emit(reply_topic(channel), SubmissionAccepted(
            channel=channel, channel_ref=channel_ref, clue_id=existing["id"], state=existing["state"], resent=True,
            duplicate_of=existing["duplicate_of"], source_event_id=source_event_id), key=channel_ref)
        return existing
    cfg = await deps.config.get(session)
    place = _place_of(fields)
    ent, method, confidence = await match_business(deps, session, uscc=fields.uscc, name=fields.business_name,
                                                   address=fields.address, division_code=place)
    uscc = fields.uscc or (ent["uscc"] if ent else None)
    division = place or (ent["division_code"] if ent else None)
    clue = {
        "id": _new_clue_id(tx, fields.received_at, channel, channel_ref), "channel": channel, "channel_ref": channel_ref,
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
    await journal.record(tx, clue, "receive", None, actor, {"match_method": method, "match_confidence": confidence})

    decision = route(RoutingInput(
        content=fields.content, division_code=division, domain_hint=fields.domain,
        entity_departments=tuple(ent["responsible_departments"]) if ent else (),
        entity_division_code=ent["division_code"] if ent else None,
        names=tuple(n for n in (fields.business_name, ent["name"] if ent else None) if n)), cfg.rules)
    domain = decision.domain
    first = await _find_duplicate(deps, tx, clue, domain)
    if first is not None:
        primary, similarity = first
        await journal.move(tx, clue, "link", actor, details={"duplicate_of": primary["id"], "similarity": similarity},
                           duplicate_of=primary["id"], duplicate_similarity=similarity, domain=primary["domain"],
                           lead_department=primary["lead_department"])
    elif isinstance(decision, Route):
        await send_to_departments(deps, tx, clue, lead=decision.lead, co=list(decision.co), domain=decision.domain,
                                  actor=actor, note=decision.reason, record_as="dispatch")
    else:
        await journal.move(tx, clue, "queue", actor, details={"reason": decision.reason},
                           domain=domain.value if domain else None, routing_note=decision.reason)
    await tx.emit(reply_topic(channel), SubmissionAccepted(
        channel=channel, channel_ref=channel_ref, clue_id=clue["id"], state=clue["state"],
        duplicate_of=clue.get("duplicate_of"), source_event_id=source_event_id), key=channel_ref)
    return clue


async def _find_duplicate(deps: Deps, tx: Tx, clue: dict, domain: Domain | None) -> tuple[dict, float] | None:
    """The open first clue this one repeats (same business, or same place when none is known; same matter)."""
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
