"""Intake of the market regulation bureau's registration events (market.registrations.v1): the directory's
state changes, applied set-wise, with a receipt for every event (accepted, superseded or rejected)."""

from __future__ import annotations

from datetime import datetime

from jsp_common import clock, topics
from jsp_common.consumer import HandlerContext
from jsp_common.events.registry import RegistrationAccepted, RegistrationRejected
from jsp_common.receipts import Receipt, Refusal, reject

from ..adapters import entities as records
from ..adapters.writes import Writes
from ..deps import Deps
from ..domain import directory
from ..domain.directory import Record
from ..domain.rules import CompiledRules
from .responsibility import settle_into


def registration_rejected(r: Refusal) -> Receipt:
    """The receipt of a registration event the registry refuses (unreadable, invalid, or not applicable)."""
    uscc = r.string("uscc") or r.key
    return Receipt(topics.REGISTRATION_RECEIPTS, RegistrationRejected(
        event_id=r.event_id, original_type=r.event_type, sender=r.sender, uscc=(uscc or None) and uscc[:40],
        reason=r.reason, errors=r.errors if r.errors is not None else [{"field": "(message)", "reason": r.reason}],
        topic=r.delivery.topic, partition=r.delivery.partition, offset=r.delivery.offset,
        received_at=clock.now()), key=uscc or r.key)


def _accepted(ctx: HandlerContext, outcome: str, record: Record, now: datetime) -> RegistrationAccepted:
    env = ctx.envelope
    return RegistrationAccepted(
        event_id=env.id, original_type=env.type, sender=env.source, uscc=record.uscc, outcome=outcome,
        received_at=now, responsible_departments=list(record.departments),
        in_adjudication=record.assignment_state == "adjudication")


async def apply_market_events(deps: Deps, ctxs: list[HandlerContext]) -> None:
    """Apply bureau events (consecutive ones of a poll, in order, one transaction) to the directory, set-wise.

    The current records of all their entities are read (and locked) with one statement; each event is
    applied in memory in order, so a later event of the same entity sees the record the earlier one made;
    history, records, decisions and notifications are then written with one statement per table."""
    if not ctxs:
        return
    session = ctxs[0].session
    now = clock.now()
    state: dict[str, Record | None] = await records.load_records(session, [c.data.uscc for c in ctxs], lock=True)
    w = Writes()
    rules: CompiledRules | None = None
    for ctx in ctxs:
        data, env = ctx.data, ctx.envelope
        current = state.get(data.uscc)
        try:
            applied = directory.apply_event(current, data)
        except directory.UnknownEntity as exc:
            await reject(ctx, registration_rejected, str(exc), [{"field": "uscc", "reason": str(exc)}])
            continue
        except directory.InconsistentDates as exc:
            field = "deregistered_on" if env.type.endswith("deregistered.v1") else "revoked_on"
            await reject(ctx, registration_rejected, str(exc), [{"field": field, "reason": str(exc)}])
            continue
        w.add_history(uscc=data.uscc, event_id=env.id, event_type=env.type, sender=env.source,
                      occurred_at=data.occurred_at, outcome=applied.outcome, data=env.data, now=now)
        if applied.outcome == "superseded":
            assert current is not None
            await ctx.emit(topics.REGISTRATION_RECEIPTS, _accepted(ctx, "superseded", current, now), key=data.uscc)
            continue
        record = applied.record
        assert record is not None
        assignment, version = None, None
        if not record.closed and not directory.office_decision_stands(current, record):
            if rules is None:
                rules = await deps.rules.get(session)
            assignment, version = rules.evaluate(record.facts()), rules.version
        resp = directory.assign(current, record, assignment, version)
        await settle_into(deps, ctx, w, current, resp, cause=applied.cause, event_id=env.id, now=now)
        state[data.uscc] = resp.record
        await ctx.emit(topics.REGISTRATION_RECEIPTS, _accepted(ctx, "applied", resp.record, now), key=data.uscc)
    await w.flush(session)
