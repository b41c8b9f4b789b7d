"""What a decision about who supervises an entity implies, for every use case that makes one (intake,
adjudication, re-assessment): the record and its decision rows, dual notifications (双告知), adjudication
cases, and the events announcing them, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import topics
from jsp_common.events.registry import (AdjudicationRequested, EntityChanged, NotificationIssued, NotificationKind,
                                        NotifiedEntity)
from jsp_common.outbox import Transaction as Tx

from ..adapters import adjudication as cases
from ..adapters.writes import Writes
from ..deps import Deps
from ..domain import directory
from ..domain.acknowledgement import acknowledge_by
from ..domain.directory import Record, Responsibility
from .announcements import announce

SYSTEM = "registry"


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


async def issue_notifications(deps: Deps, tx: Tx, w: Writes, record: Record, depts: list[str], *,
                              kind: NotificationKind, cause: str, now: datetime) -> None:
    """Dual notification (双告知): one notification per department, on the department's own topic
    (the rows go to ``w``)."""
    if not depts:
        return
    workdays = deps.settings.ack_workdays
    due = acknowledge_by(deps.calendar, now, workdays)
    entity = notified_entity(record)
    matched, doms = list(record.matched_rules), list(record.domains)
    for dept in depts:
        nid = tx.new_id("notification", dept, kind.value)
        w.add_notification(id=nid, uscc=record.uscc, department=dept, kind=kind.value, cause=cause,
                           matched_rules=matched, domains=doms, issued_at=now, acknowledge_by=due.at,
                           acknowledge_within_workdays=workdays, acknowledge_by_provisional=due.provisional)
        await tx.emit(topics.department_topic(topics.NOTIFICATIONS, dept), NotificationIssued(
            notification_id=nid, department=dept, kind=kind, cause=cause, entity=entity, matched_rules=matched,
            domains=doms, issued_at=now, acknowledge_by=due.at, acknowledge_by_provisional=due.provisional),
            key=record.uscc)


async def settle_into(deps: Deps, tx: Tx, w: Writes, before: Record | None, resp: Responsibility, *,
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
    await issue_notifications(deps, tx, w, record, resp.notify_new, kind=NotificationKind.NEW_RESPONSIBILITY,
                              cause=cause, now=now)
    await issue_notifications(deps, tx, w, record, resp.notify_closed, kind=NotificationKind.CLOSED, cause=cause,
                              now=now)
    await issue_notifications(deps, tx, w, record, directory.ended(before, record),
                              kind=NotificationKind.RESPONSIBILITY_ENDED, cause=cause, now=now)
    if resp.close_adjudication:
        await withdraw_cases(session, w, [record.uscc], actor=SYSTEM, cause=cause, now=now, announce_in=tx,
                             name=record.name)
    if resp.open_adjudication:
        case = await cases.open_case(session, case_id=tx.new_id("adjudication-case", record.uscc), uscc=record.uscc, reason="no_rule_matched",
                                     candidates=[], detail=f"no responsibility rule matches (after {cause})",
                                     opened_by=SYSTEM, now=now)
        w.add_decision(uscc=record.uscc, action="adjudication_requested", actor=SYSTEM, now=now,
                       details={"case_id": case, "reason": "no_rule_matched", "cause": cause})
        await tx.emit(topics.REGISTRY_ADJUDICATION, AdjudicationRequested(
            case_id=case, uscc=record.uscc, name=record.name, reason="no_rule_matched",
            detail=f"no responsibility rule matches (after {cause})", requested_at=now), key=record.uscc)
    await tx.emit(topics.REGISTRY_ENTITIES, entity_changed(record, now), key=record.uscc)


async def withdraw_cases(session: AsyncSession, w: Writes, usccs: Sequence[str], *, actor: str, cause: str,
                         now: datetime, announce_in: Tx | None, name: str | None = None) -> int:
    """The open adjudication cases of ``usccs`` withdrawn, no longer needed after ``cause``: each a decision (into
    ``w``), and ``registry.adjudication.withdrawn.v1`` issued in ``announce_in`` (with its request first if that was
    not published yet; ``name`` the entity's); without it (the bulk import: tens of thousands at a time) the
    replicate job publishes them (``usecases.announcements``). How many there were."""
    withdrawn = await cases.withdraw_open_cases(session, usccs, actor=actor, now=now,
                                                note=f"no longer needed after {cause}",
                                                announced=announce_in is not None) if usccs else []
    for case in withdrawn:
        w.add_decision(uscc=case.uscc, action="adjudication_withdrawn", actor=actor, now=now,
                       details={"case_id": case.id, "cause": cause})
        if announce_in is not None:
            await announce(announce_in, case, name=name)
    return len(withdrawn)


async def settle(deps: Deps, tx: Tx, before: Record | None, resp: Responsibility, *, cause: str,
                 event_id: str | None, now: datetime) -> None:
    """Persist a record and everything its responsibility decision implies."""
    w = Writes()
    await settle_into(deps, tx, w, before, resp, cause=cause, event_id=event_id, now=now)
    await w.flush(tx.session)
