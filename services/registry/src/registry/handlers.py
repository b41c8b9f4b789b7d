"""One function per incoming event or command. Routes and consumers call these; these call the domain
and the adapters. Every state change and the events announcing it are written in one transaction
(events through the outbox)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, departments, topics
from jsp_common.consumer import HandlerContext, PoisonContext
from jsp_common.db import Database
from jsp_common.events.registry import (AdjudicationDecided, AdjudicationRequested, AssignmentDisputed,
                                        EntityChanged, NotificationAcknowledged, NotificationIssued,
                                        NotificationKind, NotificationReminded, NotifiedEntity,
                                        RegistrationAccepted, RegistrationRejected)
from jsp_common.logs import get_logger
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem
from jsp_common.workdays import WorkCalendar, calendar_with_overrides

from .adapters import repository as repo
from .adapters.tables import adjudication_cases, entities, notifications, rule_sets
from .domain import directory
from .domain.acknowledgement import is_overdue
from .domain.directory import Record, Responsibility
from .domain.rules import CompiledRules, changed_rules
from .settings import Settings

log = get_logger(__name__)

RECEIPTS = "market.registration-receipts.v1"
ENTITIES = "registry.entities.v1"
ADJUDICATION = "registry.adjudication.v1"
SYSTEM = "registry"


class RulesCache:
    """The rule set in force, compiled; re-read from the database every ``ttl_s`` seconds."""

    def __init__(self, starter: dict, ttl_s: float):
        self.starter, self.ttl_s = starter, ttl_s
        self._compiled: CompiledRules | None = None
        self._checked = 0.0

    def invalidate(self) -> None:
        self._checked = 0.0

    async def get(self, session: AsyncSession) -> CompiledRules:
        if self._compiled is not None and time.monotonic() - self._checked < self.ttl_s:
            return self._compiled
        got = await repo.current_rules(session) or await repo.seed_rules(session, self.starter, clock.now())
        if self._compiled is None or self._compiled.version != got[0]:
            self._compiled = CompiledRules.from_json(*got)
        self._checked = time.monotonic()
        return self._compiled


@dataclass
class Registry:
    """The registry's dependencies, built once in bootstrap."""

    settings: Settings
    rules: RulesCache
    source: str
    calendar: WorkCalendar
    _due: tuple[datetime, datetime] | None = None
    reassess_after: str = ""  # where the reassessment pass in progress has got to (USCC order)

    def acknowledge_by(self, issued_at: datetime) -> datetime:
        """When a notification issued at ``issued_at`` must be acknowledged (cached: one batch shares ``now``)."""
        if self._due is None or self._due[0] != issued_at:
            self._due = (issued_at, self.calendar.add_workdays(issued_at, self.settings.ack_workdays))
        return self._due[1]

    @classmethod
    def build(cls, settings: Settings, source: str) -> "Registry":
        return cls(settings, RulesCache(repo.starter_rules(settings.starter_rules_file), settings.rules_cache_s),
                   source, calendar_with_overrides(settings.workday_overrides))


# ------------------------------------------------------------------ shared steps
def notified_entity(record: Record) -> NotifiedEntity:
    return NotifiedEntity(**{f: getattr(record, f) for f in NotifiedEntity.model_fields})


def entity_changed(record: Record, now: datetime) -> EntityChanged:
    return EntityChanged(
        **{f: getattr(record, f) for f in NotifiedEntity.model_fields},
        city_code=record.city_code, approved_on=record.approved_on,
        registration_authority=record.registration_authority,
        responsible_departments=list(record.departments), domains=list(record.domains),
        assignment_state=record.assignment_state, assignment_source=record.assignment_source,
        record_version=record.version, last_changed_at=record.last_changed_at, updated_at=now)


async def issue_notifications(reg: Registry, tx: Tx, w: repo.Writes, record: Record, depts: list[str], *,
                              kind: NotificationKind, cause: str, now: datetime) -> None:
    """Dual notification (双告知): one notification per department, on the department's own topic
    (the rows go to ``w``)."""
    if not depts:
        return
    due = reg.acknowledge_by(now)
    entity = notified_entity(record)
    matched, doms = list(record.matched_rules), list(record.domains)
    for dept in depts:
        nid = str(uuid.uuid4())
        w.add_notification(id=nid, uscc=record.uscc, department=dept, kind=kind.value, cause=cause,
                           matched_rules=matched, domains=doms, issued_at=now, acknowledge_by=due)
        await tx.emit(topics.department_topic(topics.NOTIFICATIONS, dept), NotificationIssued(
            notification_id=nid, department=dept, kind=kind, cause=cause, entity=entity, matched_rules=matched,
            domains=doms, issued_at=now, acknowledge_by=due), key=record.uscc)


async def settle_into(reg: Registry, tx: Tx, w: repo.Writes, before: Record | None, resp: Responsibility, *,
                      cause: str, event_id: str | None, now: datetime) -> None:
    """Everything a record's responsibility decision implies: rows into ``w`` (written by its flush),
    adjudication cases at once, events into the outbox."""
    record = resp.record
    session = tx.session
    w.save_record(record, event_id=event_id, now=now)
    prior = set(before.departments) if before else set()
    if record.assignment_source == "rules" and set(record.departments) != prior:
        w.add_decision(uscc=record.uscc, action="assigned_by_rules", actor=SYSTEM, now=now,
                       details={"departments": list(record.departments), "previous": sorted(prior),
                                "rules": list(record.matched_rules), "rule_version": record.rule_version,
                                "cause": cause})
    await issue_notifications(reg, tx, w, record, resp.notify_new, kind=NotificationKind.NEW_RESPONSIBILITY,
                              cause=cause, now=now)
    await issue_notifications(reg, tx, w, record, resp.notify_closed, kind=NotificationKind.CLOSED, cause=cause,
                              now=now)
    await issue_notifications(reg, tx, w, record, directory.ended(before, record),
                              kind=NotificationKind.RESPONSIBILITY_ENDED, cause=cause, now=now)
    if resp.close_adjudication:
        case = await repo.withdraw_open_case(session, uscc=record.uscc, actor=SYSTEM, now=now,
                                             note=f"no longer needed after {cause}")
        if case:
            w.add_decision(uscc=record.uscc, action="adjudication_withdrawn", actor=SYSTEM, now=now,
                           details={"case_id": case, "cause": cause})
    if resp.open_adjudication:
        case = await repo.open_case(session, case_id=str(uuid.uuid4()), uscc=record.uscc, reason="no_rule_matched",
                                    candidates=[], detail=f"no responsibility rule matches (after {cause})",
                                    opened_by=SYSTEM, now=now)
        w.add_decision(uscc=record.uscc, action="adjudication_requested", actor=SYSTEM, now=now,
                       details={"case_id": case, "reason": "no_rule_matched", "cause": cause})
        await tx.emit(ADJUDICATION, AdjudicationRequested(
            case_id=case, uscc=record.uscc, name=record.name, reason="no_rule_matched",
            detail=f"no responsibility rule matches (after {cause})", requested_at=now), key=record.uscc)
    await tx.emit(ENTITIES, entity_changed(record, now), key=record.uscc)


async def settle(reg: Registry, tx: Tx, before: Record | None, resp: Responsibility, *, cause: str,
                 event_id: str | None, now: datetime) -> None:
    """Persist a record and everything its responsibility decision implies."""
    w = repo.Writes()
    await settle_into(reg, tx, w, before, resp, cause=cause, event_id=event_id, now=now)
    await w.flush(tx.session)


# ------------------------------------------------------------------ intake: market.registrations.v1
async def handle_market_events(reg: Registry, ctxs: list[HandlerContext]) -> None:
    """Apply bureau events (consecutive ones of a poll, in order, one transaction) to the directory, set-wise.

    The current records of all their entities are read (and locked) with one statement; each event is
    applied in memory in order, so a later event of the same entity sees the record the earlier one made;
    history, records, decisions and notifications are then written with one statement per table."""
    if not ctxs:
        return
    session = ctxs[0].session
    now = clock.now()
    state: dict[str, Record | None] = await repo.load_records(session, [c.data.uscc for c in ctxs], lock=True)
    w = repo.Writes()
    rules: CompiledRules | None = None
    for ctx in ctxs:
        data, env = ctx.data, ctx.envelope
        current = state.get(data.uscc)
        try:
            applied = directory.apply_event(current, data)
        except directory.UnknownEntity as exc:
            await _reject_in_handler(ctx, str(exc), [{"field": "uscc", "reason": str(exc)}], now)
            continue
        except directory.InconsistentDates as exc:
            field = "deregistered_on" if env.type.endswith("deregistered.v1") else "revoked_on"
            await _reject_in_handler(ctx, str(exc), [{"field": field, "reason": str(exc)}], now)
            continue
        w.add_history(uscc=data.uscc, event_id=env.id, event_type=env.type, sender=env.source,
                      occurred_at=data.occurred_at, outcome=applied.outcome, data=env.data or {}, now=now)
        if applied.outcome == "superseded":
            assert current is not None
            await ctx.emit(RECEIPTS, RegistrationAccepted(
                event_id=env.id, original_type=env.type, sender=env.source, uscc=data.uscc, outcome="superseded",
                received_at=now, responsible_departments=list(current.departments),
                in_adjudication=current.assignment_state == "adjudication"), key=data.uscc)
            continue
        record = applied.record
        assert record is not None
        assignment, version = None, None
        if not record.closed and record.assignment_source != "office":
            if rules is None:
                rules = await reg.rules.get(session)
            assignment, version = rules.evaluate(record.facts()), rules.version
        resp = directory.assign(current, record, assignment, version)
        await settle_into(reg, ctx, w, current, resp, cause=applied.cause, event_id=env.id, now=now)
        state[data.uscc] = resp.record
        await ctx.emit(RECEIPTS, RegistrationAccepted(
            event_id=env.id, original_type=env.type, sender=env.source, uscc=data.uscc, outcome="applied",
            received_at=now, responsible_departments=list(resp.record.departments),
            in_adjudication=resp.record.assignment_state == "adjudication"), key=data.uscc)
    await w.flush(session)


async def _reject_in_handler(ctx: HandlerContext, reason: str, errors: list[dict], now: datetime) -> None:
    env, d = ctx.envelope, ctx.delivery
    await ctx.emit(RECEIPTS, RegistrationRejected(
        event_id=env.id, original_type=env.type, sender=env.source, uscc=getattr(ctx.data, "uscc", None),
        reason=reason, errors=errors, topic=d.topic, partition=d.partition, offset=d.offset, received_at=now),
        key=getattr(ctx.data, "uscc", None) or d.key_str)
    ctx.dead_letter(reason, errors)


_SCAN = {name: re.compile(rf'"{name}"\s*:\s*"([^"\\]{{1,200}})"'.encode()) for name in ("id", "source", "type", "uscc")}


def _recover(raw: bytes | None, headers: tuple[tuple[str, bytes], ...], name: str, header: str) -> str | None:
    for k, v in headers:
        if k == header:
            return v.decode(errors="replace")
    m = _SCAN[name].search(raw or b"")
    return m.group(1).decode(errors="replace") if m else None


async def on_poison(reg: Registry, pctx: PoisonContext) -> None:
    """A message the consumer could not read or validate: tell the sender what was wrong (rejection receipt)."""
    d, env = pctx.delivery, pctx.envelope
    data = (env.data or {}) if env else {}
    uscc_value = data.get("uscc") if isinstance(data.get("uscc"), str) else None
    uscc_value = uscc_value or _recover(d.value, (), "uscc", "") or d.key_str
    if isinstance(pctx.details, list) and all(isinstance(e, dict) and "field" in e for e in pctx.details):
        errors = [{"field": e["field"], "reason": e["reason"]} for e in pctx.details]
    else:
        errors = [{"field": "(message)", "reason": pctx.reason}]
    await pctx.emit(RECEIPTS, RegistrationRejected(
        event_id=env.id if env else _recover(d.value, d.headers, "id", "ce_id"),
        original_type=env.type if env else _recover(d.value, d.headers, "type", "ce_type"),
        sender=env.source if env else _recover(d.value, d.headers, "source", "ce_source"),
        uscc=(uscc_value or None) and uscc_value[:40], reason=pctx.reason[:2000], errors=errors, topic=d.topic,
        partition=d.partition, offset=d.offset, received_at=clock.now()), key=uscc_value or d.key_str)


# ------------------------------------------------------------------ scoping
def can_see_entity(principal: Principal, record_departments: list[str] | tuple[str, ...]) -> bool:
    return principal.is_office or (principal.department is not None and principal.department in record_departments)


async def entity_for(session: AsyncSession, principal: Principal, uscc: str, *, lock: bool = False) -> Record:
    record = await repo.load_record(session, uscc, lock=lock)
    if record is None or not can_see_entity(principal, record.departments):
        raise Problem(404, f"no entity {uscc} here")
    return record


# ------------------------------------------------------------------ acknowledgement (签收) and overdue
async def acknowledge(reg: Registry, tx: Tx, notification_id: str, principal: Principal) -> dict:
    session = tx.session
    row = (await session.execute(select(notifications).where(notifications.c.id == notification_id)
                                 .with_for_update())).first()
    if row is None or not can_see_entity(principal, [row.department]):
        raise Problem(404, f"no notification {notification_id} here")
    if principal.department != row.department:
        raise Problem(403, "only the notified department acknowledges its notifications")
    if row.acknowledged_at is not None:
        return dict(row._mapping)
    now = clock.now()
    was_overdue = is_overdue(acknowledged_at=None, overdue_since=row.overdue_since,
                             acknowledge_by=row.acknowledge_by, now=now)
    actor = principal.subject
    await session.execute(update(notifications).where(notifications.c.id == notification_id)
                          .values(acknowledged_at=now, acknowledged_by=actor))
    await repo.add_decision(session, uscc=row.uscc, action="notification_acknowledged", actor=actor, now=now,
                            details={"notification_id": notification_id, "department": row.department,
                                     "was_overdue": was_overdue})
    await tx.emit(topics.department_topic(topics.NOTIFICATIONS, row.department), NotificationAcknowledged(
        notification_id=notification_id, department=row.department, uscc=row.uscc, acknowledged_by=actor,
        acknowledged_at=now, was_overdue=was_overdue), key=row.uscc)
    return {**row._mapping, "acknowledged_at": now, "acknowledged_by": actor}


async def remind_overdue(reg: Registry, db: Database, *, now: datetime | None = None) -> int:
    """Periodic: remind departments of notifications not acknowledged in time. Returns how many reminders."""
    now = now or clock.now()
    next_at = reg.calendar.add_workdays(now, reg.settings.remind_every_workdays)
    due = (select(notifications.c.id).where(notifications.c.acknowledged_at.is_(None),
                                            notifications.c.next_reminder_at < now)
           .order_by(notifications.c.next_reminder_at).limit(reg.settings.overdue_scan_batch)
           .with_for_update(skip_locked=True))
    async with db.transaction() as session:
        rows = (await session.execute(
            update(notifications).where(notifications.c.id.in_(due.scalar_subquery())).values(
                reminder_count=notifications.c.reminder_count + 1, last_reminded_at=now, next_reminder_at=next_at,
                overdue_since=func.coalesce(notifications.c.overdue_since, now))
            .returning(notifications))).all()
        tx = SessionTx(session, reg.source)
        for row in rows:
            await tx.emit(topics.department_topic(topics.NOTIFICATIONS, row.department), NotificationReminded(
                notification_id=row.id, department=row.department, uscc=row.uscc, issued_at=row.issued_at,
                acknowledge_by=row.acknowledge_by, reminded_at=now, reminder_count=row.reminder_count),
                key=row.uscc)
    sent = len(rows)
    if sent:
        log.info("overdue notifications reminded", count=sent)
    return sent


# ------------------------------------------------------------------ adjudication (研判定性)
async def dispute(reg: Registry, tx: Tx, uscc: str, principal: Principal, reason: str) -> dict:
    """A department disputes its assignment: the entity goes back to the office's queue."""
    session = tx.session
    if not principal.department:
        raise Problem(403, "only a department disputes its own assignment")
    record = await entity_for(session, principal, uscc, lock=True)
    now = clock.now()
    case_id = await repo.open_case(session, case_id=str(uuid.uuid4()), uscc=uscc, reason="disputed",
                                   candidates=list(record.departments),
                                   detail=f"{principal.department}: {reason}", opened_by=principal.subject, now=now)
    await session.execute(update(entities).where(entities.c.uscc == uscc).values(
        assignment_state="adjudication", version=entities.c.version + 1, published_version=entities.c.version + 1,
        updated_at=now))
    await repo.add_decision(session, uscc=uscc, action="assignment_disputed", actor=principal.subject, now=now,
                            details={"case_id": case_id, "department": principal.department, "reason": reason})
    await tx.emit(ADJUDICATION, AssignmentDisputed(case_id=case_id, uscc=uscc, department=principal.department,
                                                   reason=reason, disputed_by=principal.subject, disputed_at=now),
                  key=uscc)
    after = await repo.load_record(session, uscc)
    assert after is not None
    await tx.emit(ENTITIES, entity_changed(after, now), key=uscc)
    return {"case_id": case_id, "uscc": uscc, "status": "open"}


async def decide(reg: Registry, tx: Tx, case_id: str, depts: list[str], note: str | None,
                 principal: Principal) -> dict:
    """The office names the responsible department(s); only then do notifications go out."""
    session = tx.session
    for code in depts:
        try:
            departments.department(code)
        except departments.UnknownDepartment as exc:
            raise Problem(422, str(exc), errors=[{"field": "departments", "reason": str(exc)}]) from None
    case = (await session.execute(select(adjudication_cases).where(adjudication_cases.c.id == case_id)
                                  .with_for_update())).first()
    if case is None:
        raise Problem(404, f"no adjudication case {case_id}")
    if case.status != "open":
        raise Problem(409, f"case {case_id} is {case.status}, not open")
    before = await repo.load_record(session, case.uscc, lock=True)
    assert before is not None
    now = clock.now()
    chosen = tuple(sorted(set(depts)))
    after = replace(before, departments=chosen, assignment_state="assigned", assignment_source="office",
                    matched_rules=(), version=before.version + 1)
    added = [d for d in chosen if d not in before.departments or case.reason == "no_rule_matched"]
    await session.execute(update(adjudication_cases).where(adjudication_cases.c.id == case_id).values(
        status="decided", decided_at=now, decided_by=principal.subject, departments=list(chosen), note=note))
    await repo.add_decision(session, uscc=case.uscc, action="adjudication_decided", actor=principal.subject, now=now,
                            details={"case_id": case_id, "departments": list(chosen), "note": note,
                                     "previous": list(before.departments)})
    await tx.emit(ADJUDICATION, AdjudicationDecided(case_id=case_id, uscc=case.uscc, departments=list(chosen),
                                                    note=note, decided_by=principal.subject, decided_at=now),
                  key=case.uscc)
    await settle(reg, tx, before, Responsibility(after, notify_new=added), cause="adjudicated",
                 event_id=None, now=now)
    return {"case_id": case_id, "uscc": case.uscc, "status": "decided", "departments": list(chosen),
            "decided_by": principal.subject, "decided_at": now}


# ------------------------------------------------------------------ rules
async def publish_rules(reg: Registry, tx: Tx, rules: list[dict], note: str | None, reassess: bool,
                        principal: Principal) -> int:
    now = clock.now()
    version = await repo.add_rule_set(tx.session, rules=rules, note=note, actor=principal.subject, now=now,
                                      reassess=reassess)
    await repo.add_decision(tx.session, uscc=None, action="rules_published", actor=principal.subject, now=now,
                            details={"version": version, "note": note, "reassess": reassess, "rules": len(rules)})
    reg.rules.invalidate()
    return version


async def dry_run(session: AsyncSession, current: CompiledRules, proposed: CompiledRules, *, limit: int) -> dict:
    """Which entities would change responsible departments under ``proposed`` (active, rule-assigned ones).

    Only candidates are evaluated: entities that a rule the two sets do not share may match, and entities
    last assigned under an older version than ``current`` (whose departments may be out of date anyway).
    ``examined`` counts the candidates."""
    moved, counts = [], {"examined": 0, "moved": 0, "to_adjudication": 0, "from_adjudication": 0}
    candidates = or_(entities.c.rule_version.is_(None), entities.c.rule_version < current.version,
                     repo.matched_by_any(changed_rules(current, proposed)))
    result = await session.stream(
        select(entities.c.uscc, entities.c.name, entities.c.division_code, entities.c.industry_code,
               entities.c.business_scope, entities.c.licences, entities.c.departments)
        .where(entities.c.status == "active", entities.c.assignment_source != "office", candidates)
        .order_by(entities.c.uscc).execution_options(yield_per=2000))
    async for rows in result.partitions():
        for r in rows:
            counts["examined"] += 1
            facts = Record(r.uscc, r.name, "", None, "", r.division_code, r.industry_code, r.business_scope,
                           r.licences, "active", None, None, None, None).facts()  # type: ignore[arg-type]
            new = proposed.evaluate(facts)
            if set(new.departments) == set(r.departments):
                continue
            counts["moved"] += 1
            if new.empty:
                counts["to_adjudication"] += 1
            if not r.departments:
                counts["from_adjudication"] += 1
            if len(moved) < limit:
                moved.append({"uscc": r.uscc, "name": r.name, "departments_now": list(r.departments),
                              "departments_after": list(new.departments), "rules_after": list(new.matched_rules)})
    return {"current_version": current.version, **counts, "entities": moved}


async def reassess_pending(reg: Registry, db: Database) -> int:
    """Periodic: after a rule set published with ``reassess``, re-decide rule-assigned entities, a batch per
    transaction in USCC order (each batch continues where the last ended, so a pass over the directory reads
    it once). Returns how many entities the batch examined (1 at the end of a pass, to go on with one more
    from the start); 0 when a pass from the start finds none left."""
    async with db.transaction() as session:
        pending = (await session.execute(select(rule_sets.c.version).where(rule_sets.c.reassess == "pending")
                                         .order_by(rule_sets.c.version.desc()).limit(1))).scalar()
        if pending is None:
            return 0
        rules = await reg.rules.get(session)
        if rules.version < pending:
            reg.rules.invalidate()
            rules = await reg.rules.get(session)
        after = reg.reassess_after
        rows = (await session.execute(
            select(entities).where(entities.c.uscc > after, entities.c.status == "active",
                                   entities.c.assignment_source != "office",
                                   or_(entities.c.rule_version.is_(None), entities.c.rule_version < rules.version),
                                   ~and_(entities.c.assignment_state == "adjudication",
                                         func.cardinality(entities.c.departments) > 0))
            .order_by(entities.c.uscc).limit(reg.settings.reassess_batch).with_for_update(skip_locked=True))).all()
        if not rows:
            reg.reassess_after = ""
            if after:  # end of a pass: one more from the start for rows that were locked or written meanwhile
                return 1
            await session.execute(update(rule_sets).where(rule_sets.c.version <= rules.version,
                                                          rule_sets.c.reassess == "pending").values(reassess="done"))
            return 0
        tx, now, w, unchanged = SessionTx(session, reg.source), clock.now(), repo.Writes(), []
        for row in rows:
            before = repo.record_from_row(row)
            resp = directory.assign(before, before, rules.evaluate(before.facts()), rules.version)
            if set(resp.record.departments) == set(before.departments) and \
                    resp.record.assignment_state == before.assignment_state:
                unchanged.append(row.uscc)
                continue
            resp = replace(resp, record=replace(resp.record, version=before.version + 1))
            await settle_into(reg, tx, w, before, resp, cause="rules", event_id=row.last_event_id, now=now)
        await repo.stamp_rule_version(session, unchanged, rules.version)
        await w.flush(session)
        reg.reassess_after = rows[-1].uscc
        return len(rows)


async def replicate_pending(reg: Registry, db: Database) -> int:
    """Periodic: publish entity-changed events for records written without one (bulk import)."""
    async with db.transaction() as session:
        rows = (await session.execute(
            select(entities).where(entities.c.published_version < entities.c.version)
            .limit(reg.settings.replicate_batch).with_for_update(skip_locked=True))).all()
        if not rows:
            return 0
        tx, now = SessionTx(session, reg.source), clock.now()
        for row in rows:
            await tx.emit(ENTITIES, entity_changed(repo.record_from_row(row), now), key=row.uscc)
        await session.execute(update(entities).where(entities.c.uscc.in_([r.uscc for r in rows]))
                              .values(published_version=entities.c.version))
        return len(rows)
