"""Taking in clues from any channel: a resend is recognised, the business matched against the registry
replica, a duplicate linked to its first clue, anything else routed and dispatched (or queued for the
office), and the channel gets its receipt.

A consumer's poll is taken in set-wise (:func:`intake_many`): the clues already known, the businesses and
the duplicate candidates of the whole poll are read with one statement each, every submission is decided in
memory in order (a later one sees the clues the earlier ones made: a resend, or the first clue it repeats),
and the new clues and their transitions are written with one statement each. Each submission keeps its own
effects: its clue, its transitions, its events and its receipt."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, divisions, topics
from jsp_common.domains import Domain
from jsp_common.events import EventData
from jsp_common.events.clues import Channel, SubmissionAccepted, _ClueFields
from jsp_common.masking import mask_name, mask_phone
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal

from ..adapters import directory
from ..adapters import repository as repo
from ..deps import Deps
from ..domain.lifecycle import OPEN_STATES, State
from ..domain.receipts import receipt_topic
from ..domain.routing import Route, RoutingInput, route
from ..domain.text import dice
from . import journal
from .access import INTAKE
from .configuration import Configuration
from .dispatch import dispatch_values, dispatched_events, followed
from .matching import match_by_name


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


@dataclass
class Submission:
    """One clue as its channel sent it, and the transaction it is taken in (a consumer's context, a request's)."""

    tx: Tx
    channel: str
    channel_ref: str
    fields: _ClueFields
    caller_name: str | None
    caller_phone: str | None
    source_event_id: str | None

    @property
    def ref(self) -> tuple[str, str]:
        return self.channel, self.channel_ref


class IntakeRace(Exception):
    """What these submissions were decided on changed meanwhile: another replica took one of them in, or a
    first clue one of them repeats was answered (which answers only the repeats linked before it) or sent to
    other departments (which take along only the repeats linked before it). Taken in again, they see it: a
    resend, a new clue, a repeat with the departments its first clue has now."""


@dataclass
class _Writes:
    """What a set of submissions writes and emits, in order, until :meth:`flush`."""

    clues: list[dict] = field(default_factory=list)
    transitions: list[dict] = field(default_factory=list)
    events: list[tuple[Tx, str, EventData, str]] = field(default_factory=list)

    def emit(self, tx: Tx, topic: str, event: EventData, key: str) -> None:
        self.events.append((tx, topic, event, key))

    def record(self, tx: Tx, clue: dict, action: str, from_state: str | None, actor: Principal,
               details: dict | None = None) -> None:
        row, event = journal.transition(clue, action, from_state, actor, details)
        self.transitions.append(row)
        self.events.append((tx, topics.CLUE_LIFECYCLE, event, clue["id"]))

    def move(self, tx: Tx, clue: dict, action: str, actor: Principal, *, record_as: str | None = None,
             details: dict | None = None, **values) -> None:
        from_state = clue["state"]
        to = journal.allowed(clue, action)
        clue.update(state=to.value, **values)
        self.record(tx, clue, record_as or action, from_state, actor, details)

    async def flush(self, session: AsyncSession) -> dict[str, dict]:
        """Write the new clues (as they are now) and the transitions, then emit the events; the clues as
        written, by id. Raises :class:`IntakeRace` when one of the clues was taken in meanwhile, or a first
        clue one of them repeats is no longer open or no longer has the departments the repeat was given.

        The stored first clues repeated are locked until the transaction ends (in id order): a reply to one
        of them waits, then answers these repeats with the others."""
        new = {c["id"] for c in self.clues}
        firsts = sorted({c["duplicate_of"] for c in self.clues if c["duplicate_of"] and c["duplicate_of"] not in new})
        locked = await repo.lock_open_clues(session, firsts) if firsts else {}
        if len(locked) < len(firsts):
            raise IntakeRace("a first clue repeated was answered meanwhile")
        if any(followed(c) != followed(locked[c["duplicate_of"]]) for c in self.clues if c["duplicate_of"] in locked):
            raise IntakeRace("a first clue repeated was sent to other departments meanwhile")
        written = await repo.insert_clues(session, self.clues)
        if len(written) < len(self.clues):
            raise IntakeRace(f"{len(self.clues) - len(written)} clue(s) were taken in meanwhile")
        await repo.add_transitions(session, self.transitions)
        for tx, topic, event, key in self.events:
            await tx.emit(topic, event, key=key)
        return {c["id"]: c for c in written}


async def intake(deps: Deps, tx: Tx, *, channel: str, channel_ref: str, fields: _ClueFields,
                 caller_name: str | None, caller_phone: str | None, source_event_id: str | None,
                 actor: Principal = INTAKE) -> dict:
    """Take in one clue and send the receipt to its channel; returns the clue."""
    sub = Submission(tx, channel, channel_ref, fields, caller_name, caller_phone, source_event_id)
    return (await intake_many(deps, tx.session, [sub], actor=actor))[0]


async def intake_many(deps: Deps, session: AsyncSession, subs: list[Submission], *,
                      actor: Principal = INTAKE) -> list[dict]:
    """Take in submissions (in order, in one transaction) and send each its receipt; returns their clues."""
    known = await repo.clues_by_refs(session, [s.ref for s in subs])
    fresh: dict[int, Submission] = {}
    refs = set(known)
    for i, s in enumerate(subs):
        if s.ref not in refs:
            refs.add(s.ref)
            fresh[i] = s
    w, made, out = _Writes(), {}, []
    firsts: dict[tuple[str, str], list[dict]] = {}  # this poll's first clues, by business or place
    if fresh:
        cfg = await deps.config.get(session)
        ents = await directory.entities_by_uscc(session, [s.fields.uscc for s in fresh.values() if s.fields.uscc])
        places = {i: _place_of(s.fields) for i, s in fresh.items()}
        unnamed = [i for i, s in fresh.items() if not s.fields.uscc]
        by_name = dict(zip(unnamed, await match_by_name(deps, session, [
            (fresh[i].fields.business_name, fresh[i].fields.address, places[i]) for i in unnamed])))
        new = {i: _new_clue(deps, s, places[i], (ents.get(s.fields.uscc), "uscc", 1.0) if s.fields.uscc else by_name[i])
               for i, s in fresh.items()}
        window = timedelta(days=deps.settings.duplicate_window_days)
        since = {i: clock.as_local(n[0]["received_at"]) - window for i, n in new.items()}
        stored = dict(zip(new, await repo.duplicate_candidates_of(
            session, [(n[0]["uscc"], n[0]["division_code"], since[i]) for i, n in new.items()], _CANDIDATES)))
    for i, s in enumerate(subs):
        if i not in fresh:
            existing = known.get(s.ref) or made[s.ref]
            if (topic := receipt_topic(s.channel)) is not None:
                w.emit(s.tx, topic, SubmissionAccepted(
                    channel=s.channel, channel_ref=s.channel_ref, clue_id=existing["id"], state=existing["state"],
                    resent=True, duplicate_of=existing["duplicate_of"], source_event_id=s.source_event_id),
                    s.channel_ref)
            out.append(existing)
            continue
        clue, ent, method, confidence = new[i]
        key = _business_or_place(clue)
        earlier = [c for c in firsts.get(key, ()) if c["received_at"] >= since[i] and c["state"] in OPEN_STATES]
        latest = sorted(stored[i] + earlier, key=lambda c: (c["received_at"], c["id"]), reverse=True)[:_CANDIDATES]
        candidates = latest[::-1]  # equally similar: the earliest is the first clue
        _decide(deps, cfg, w, s, clue, ent, method, confidence, candidates, actor)
        if clue["duplicate_of"] is None and key is not None:
            firsts.setdefault(key, []).append(clue)
        made[s.ref] = clue
        out.append(clue)
    try:
        written = await w.flush(session)
    except IntakeRace:
        if len(subs) > 1:
            raise  # the consumer takes the poll in again in smaller parts, down to the one submission
        return await intake_many(deps, session, subs, actor=actor)
    await repo.keep_analysed(session, deps.clue_rows, len(written))
    return [written.get(c["id"], c) for c in out]


_CANDIDATES = 50  # open first clues compared with a new one (the latest received)


def _business_or_place(clue: dict) -> tuple[str, str] | None:
    """What a clue is compared with others by: its business, or its place when no business is known (None:
    neither, compared with nothing)."""
    if clue["uscc"]:
        return ("business", clue["uscc"])
    return ("place", clue["division_code"]) if clue["division_code"] is not None else None


def _new_clue(deps: Deps, s: Submission, place: str | None,
              match: tuple[dict | None, str | None, float | None]) -> tuple[dict, dict | None, str | None, float | None]:
    """A new clue as it is received (every column of the table), its business (``match``: by USCC, else by name
    and place) and how it was matched."""
    fields = s.fields
    ent, method, confidence = match
    clue = repo.blank_clue()
    clue.update({
        "id": _new_clue_id(s.tx, fields.received_at, s.channel, s.channel_ref),
        "channel": s.channel, "channel_ref": s.channel_ref,
        "source_event_id": s.source_event_id, "content": fields.content, "category": fields.category,
        "received_at": fields.received_at.astimezone(timezone.utc), "address": fields.address,
        "division_code": place or (ent["division_code"] if ent else None),
        "business_name": fields.business_name or (ent["name"] if ent else None),
        "uscc": fields.uscc or (ent["uscc"] if ent else None),
        "match_method": method, "match_confidence": confidence,
        "domain": fields.domain.value if fields.domain else None, "urgency": fields.urgency.value,
        "caller_name_enc": deps.cipher.encrypt(s.caller_name), "caller_phone_enc": deps.cipher.encrypt(s.caller_phone),
        "caller_name_masked": mask_name(s.caller_name),
        "caller_phone_masked": mask_phone(s.caller_phone) if s.caller_phone else None,
        "state": State.RECEIVED.value, "co_departments": [], "round": 0, "arbitrated": False,
        "deadline_provisional": False, "return_deadline_provisional": False,
    })
    return clue, ent, method, confidence


def _decide(deps: Deps, cfg: Configuration, w: _Writes, s: Submission, clue: dict, ent: dict | None,
            method: str | None, confidence: float | None, candidates: list[dict], actor: Principal) -> None:
    """Receive one new clue, then link it to the first clue it repeats, or dispatch it, or queue it for the
    office; and its receipt."""
    tx, fields = s.tx, s.fields
    w.clues.append(clue)  # written as it is once every submission is decided
    w.record(tx, clue, "receive", None, actor, {"match_method": method, "match_confidence": confidence})
    decision = route(RoutingInput(
        content=fields.content, division_code=clue["division_code"], domain_hint=fields.domain,
        entity_departments=tuple(ent["responsible_departments"]) if ent else (),
        entity_division_code=ent["division_code"] if ent else None,
        names=tuple(n for n in (fields.business_name, ent["name"] if ent else None) if n)), cfg.rules)
    domain = decision.domain
    # a case from public security is transferred, never linked: its transfer is accepted with the clue
    first = _duplicate_of(deps, clue, domain, candidates) if s.channel != Channel.PUBLIC_SECURITY else None
    if first is not None:
        primary, similarity = first
        w.move(tx, clue, "link", actor, details={"duplicate_of": primary["id"], "similarity": similarity},
               duplicate_of=primary["id"], duplicate_similarity=similarity, **followed(primary))
    elif isinstance(decision, Route):
        values, info = dispatch_values(deps, cfg, clue, lead=decision.lead, co=list(decision.co),
                                       domain=decision.domain, note=decision.reason)
        w.move(tx, clue, "dispatch", actor, details=info, **values)
        for topic, event in dispatched_events(clue):
            w.emit(tx, topic, event, clue["id"])
    else:
        w.move(tx, clue, "queue", actor, details={"reason": decision.reason},
               domain=domain.value if domain else None, routing_note=decision.reason)
    if (topic := receipt_topic(s.channel)) is not None:
        w.emit(tx, topic, SubmissionAccepted(
            channel=s.channel, channel_ref=s.channel_ref, clue_id=clue["id"], state=clue["state"],
            duplicate_of=clue.get("duplicate_of"), source_event_id=s.source_event_id), s.channel_ref)


def _duplicate_of(deps: Deps, clue: dict, domain: Domain | None,
                  candidates: list[dict]) -> tuple[dict, float] | None:
    """The open first clue this one repeats (same business, or same place when none is known; same matter)."""
    s = deps.settings
    threshold = s.duplicate_min_similarity if clue["uscc"] else s.duplicate_min_similarity_no_business
    best: tuple[dict, float] | None = None
    for c in candidates:
        if domain is not None and c["domain"] and c["domain"] != domain.value:
            continue
        sim = round(dice(clue["content"], c["content"]), 3)
        if sim >= threshold and (best is None or sim > best[1]):
            best = (c, sim)
    return best
