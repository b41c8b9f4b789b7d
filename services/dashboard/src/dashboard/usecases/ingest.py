"""Building the read model from the topics: one function per event type, each an idempotent upsert."""

from __future__ import annotations

from datetime import datetime

from jsp_common.envelope import Envelope
from jsp_common.events.clues import ClueChased, ClueDeadlineChanged, ClueEscalated, ClueTransitioned
from jsp_common.events.inspection import (DrawAbandoned, InspectionResultPublished, PublicationDueChanged,
                                          ResultRecorded, TaskAssigned)
from jsp_common.events.registry import (AdjudicationDecided, AdjudicationRequested, AdjudicationWithdrawn,
                                        AssignmentDisputed, EntityChanged, NotificationAcknowledged,
                                        NotificationDueChanged, NotificationIssued, NotificationReminded)
from jsp_common.events.risk import (CreditClassChanged, RiskAlertAcknowledged, RiskAlertClosed,
                                    RiskAlertDepartmentsAdded, RiskAlertEscalated, RiskAlertRaised,
                                    RiskAlertRespondByChanged, RiskAlertResponded)
from sqlalchemy.ext.asyncio import AsyncSession

from ..adapters import notice_writes, writes
from ..domain import clues as clue_rules
from ..domain.places import city_of


async def entities_changed(session: AsyncSession, events: list[tuple[EntityChanged, Envelope]]) -> None:
    """A poll's consecutive entity records at once (a rebuild replays every entity of the directory)."""
    await writes.upsert_entities(session, [{
        "uscc": d.uscc, "name": d.name, "division_code": d.division_code,
        "city_code": d.city_code or city_of(d.division_code), "status": d.status.value,
        "departments": list(d.responsible_departments), "assignment_state": d.assignment_state.value,
        "record_version": d.record_version, "first_seen_at": d.last_changed_at, "last_changed_at": d.last_changed_at,
        "updated_at": d.updated_at} for d, _ in events])
    await writes.announce(session, "entities")


async def adjudication_requested(session: AsyncSession, d: AdjudicationRequested, env: Envelope) -> None:
    await writes.upsert_case(session, {"case_id": d.case_id, "uscc": d.uscc, "name": d.name, "reason": d.reason.value,
                                       "candidates": list(d.candidate_departments), "detail": d.detail,
                                       "requested_at": d.requested_at})
    await writes.announce(session, "adjudication")


async def adjudication_decided(session: AsyncSession, d: AdjudicationDecided, env: Envelope) -> None:
    await writes.upsert_case(session, {"case_id": d.case_id, "uscc": d.uscc, "decided_at": d.decided_at,
                                       "decided_by": d.decided_by, "departments": list(d.departments)})
    await writes.announce(session, "adjudication")


async def adjudication_withdrawn(session: AsyncSession, d: AdjudicationWithdrawn, env: Envelope) -> None:
    named = {"name": d.name} if d.name else {}
    await writes.upsert_case(session, {"case_id": d.case_id, "uscc": d.uscc, **named, "withdrawn_at": d.withdrawn_at})
    await writes.announce(session, "adjudication")


async def assignment_disputed(session: AsyncSession, d: AssignmentDisputed, env: Envelope) -> None:
    await writes.upsert_case(session, {"case_id": d.case_id, "uscc": d.uscc, "reason": "disputed",
                                       "disputed_by": d.department, "detail": d.reason, "requested_at": d.disputed_at})
    await writes.announce(session, "adjudication")


def _notification_key(notification_id: str, department: str, uscc: str) -> dict:
    return {"notification_id": notification_id, "department": department, "uscc": uscc}


async def notifications_issued(session: AsyncSession, events: list[tuple[NotificationIssued, Envelope]]) -> None:
    """A poll's consecutive notifications at once (a day's registrations notify thousands of departments)."""
    await notice_writes.upsert_notifications(session, [{
        **_notification_key(d.notification_id, d.department, d.entity.uscc), "entity_name": d.entity.name,
        "city_code": city_of(d.entity.division_code), "kind": d.kind.value, "cause": d.cause,
        "issued_at": d.issued_at, "acknowledge_by": d.acknowledge_by,
        "acknowledge_by_provisional": d.acknowledge_by_provisional} for d, _ in events])
    await writes.announce(session, "notifications")


async def notification_due_changed(session: AsyncSession, d: NotificationDueChanged, env: Envelope) -> None:
    await notice_writes.notification_due_changed(session, {
        **_notification_key(d.notification_id, d.department, d.uscc), "issued_at": d.issued_at,
        "acknowledge_by": d.acknowledge_by, "acknowledge_by_provisional": d.acknowledge_by_provisional},
        previous=d.previous_acknowledge_by if d.previous_passed else None, changed_at=d.changed_at)
    await writes.announce(session, "notifications")


async def notification_reminded(session: AsyncSession, d: NotificationReminded, env: Envelope) -> None:
    await notice_writes.notification_reminded(session, {**_notification_key(d.notification_id, d.department, d.uscc),
                                                 "issued_at": d.issued_at, "acknowledge_by": d.acknowledge_by},
                                       d.reminded_at, d.reminder_count)
    await writes.announce(session, "notifications")


async def notification_acknowledged(session: AsyncSession, d: NotificationAcknowledged, env: Envelope) -> None:
    await notice_writes.notification_acknowledged(session, _notification_key(d.notification_id, d.department, d.uscc),
                                           d.acknowledged_at, d.acknowledged_by)
    await writes.announce(session, "notifications")


async def clue_transitions(session: AsyncSession, events: list[tuple[ClueTransitioned, Envelope]]) -> None:
    """A poll's consecutive clue transitions at once (the lifecycle topic brings most of the read model's events)."""
    if await writes.record_transitions(session, [_transition(d, env) for d, env in events]):
        await writes.announce(session, "clues")


def _transition(d: ClueTransitioned, env: Envelope) -> tuple[dict, dict, bool, bool]:
    clue = {"clue_id": d.clue_id, "channel": d.channel.value, "channel_ref": d.channel_ref, "state": d.to_state,
            "domain": d.domain.value if d.domain else None, "division_code": d.division_code,
            "city_code": city_of(d.division_code), "uscc": d.uscc, "lead_department": d.lead_department,
            "co_departments": list(d.co_departments), "deadline": d.deadline,
            "deadline_provisional": d.deadline_provisional, "received_at": d.at,
            "updated_at": d.at, "previous_deadline": _passed_deadline(d)}
    step = {"event_id": env.id, "clue_id": d.clue_id, "at": d.at, "action": d.action, "from_state": d.from_state,
            "to_state": d.to_state, "actor": d.actor, "actor_department": d.actor_department,
            "lead_department": d.lead_department, "deadline": d.deadline, "details": d.details}
    return clue, step, clue_rules.is_return(d.action), clue_rules.is_redispatch(d.action, d.from_state)


def _passed_deadline(d: ClueTransitioned) -> datetime | None:
    """The earlier deadline a recount or an approved extension replaced after it had passed (kept in sight on the
    clue's pages), also when the department topic's deadline-changed came before the clue's row (a rebuild reads
    that topic faster)."""
    if d.action in ("recompute_deadline", "approve_extension") and d.details.get("previous_passed") \
            and d.details.get("previous_deadline"):
        return datetime.fromisoformat(d.details["previous_deadline"])
    return None


async def clue_deadline_changed(session: AsyncSession, d: ClueDeadlineChanged, env: Envelope) -> None:
    """Told to each of the clue's departments: the first to arrive changes the clue, the others find it done."""
    if d.deadline is not None:
        await writes.clue_deadline_changed(session, d.clue_id, previous=d.previous_deadline, deadline=d.deadline,
                                           provisional=d.deadline_provisional, previous_passed=d.previous_passed)
        await writes.announce(session, "clues")


async def _alert(session: AsyncSession, d, env: Envelope, kind: str, workdays: int) -> None:
    await writes.record_clue_alert(session, {"event_id": env.id, "clue_id": d.clue_id, "department": d.department,
                                             "role": d.role, "kind": kind, "state": d.state,
                                             "workdays": workdays, "at": env.time})
    await writes.announce(session, "clues")


async def clue_chased(session: AsyncSession, d: ClueChased, env: Envelope) -> None:
    await _alert(session, d, env, "chased", d.workdays_left)


async def clue_escalated(session: AsyncSession, d: ClueEscalated, env: Envelope) -> None:
    await _alert(session, d, env, "escalated", d.overdue_workdays)


async def inspection_published(session: AsyncSession, d: InspectionResultPublished, env: Envelope) -> None:
    await writes.upsert_inspection_result(session, {
        "task_id": d.task_id, "uscc": d.uscc, "entity_name": d.entity_name, "matter_code": d.matter_code,
        "lead_department": d.lead_department, "departments": list(d.departments), "inspected_on": d.inspected_on,
        "problems_found": d.problems_found, "published_at": d.published_at,
        "items": [i.model_dump(mode="json") for i in d.items]})
    await writes.announce(session, "inspections")


async def credit_class_changed(session: AsyncSession, d: CreditClassChanged, env: Envelope) -> None:
    await writes.upsert_credit_class(session, {"uscc": d.uscc, "credit_class": d.credit_class.value,
                                               "record_version": d.record_version,
                                               "corrected_by_office": d.corrected_by_office, "changed_at": d.changed_at})
    await writes.announce(session, "entities")


async def alert_raised(session: AsyncSession, d: RiskAlertRaised, env: Envelope) -> None:
    await notice_writes.upsert_alert(session, {
        "alert_id": d.alert_id, "uscc": d.uscc, "entity_name": d.entity_name, "level": d.level.value,
        "city_code": city_of(d.division_code) if d.division_code else None, "state": "open",
        "departments": list(d.departments), "score": d.score, "raised_at": d.raised_at, "respond_by": d.respond_by,
        "respond_by_provisional": d.respond_by_provisional})
    await writes.announce(session, "alerts")


async def alert_respond_by_changed(session: AsyncSession, d: RiskAlertRespondByChanged, env: Envelope) -> None:
    await notice_writes.alert_respond_by_changed(session, d.alert_id, previous=d.previous_respond_by,
                                          respond_by=d.respond_by, provisional=d.respond_by_provisional,
                                          previous_passed=d.previous_passed, changed_at=d.at)
    await writes.announce(session, "alerts")


async def alert_departments_added(session: AsyncSession, d: RiskAlertDepartmentsAdded, env: Envelope) -> None:
    """The alert's departments take in those the risk service added (its state here stays as its steps made it)."""
    await notice_writes.upsert_alert(session, {"alert_id": d.alert_id, "uscc": d.uscc, "level": d.level.value,
                                        "state": d.state, "departments": list(d.departments),
                                        "raised_at": d.raised_at})
    await writes.announce(session, "alerts")


def _alert_base(d) -> dict:
    return {"uscc": d.uscc, "level": d.level.value, "departments": list(d.departments)}


# A later step of an alert: its state and the column that keeps when it was taken.
_ALERT_STEPS = {RiskAlertAcknowledged: ("acknowledged", "acknowledged_at"),
                RiskAlertResponded: ("responded", "responded_at"),
                RiskAlertEscalated: ("escalated", "escalated_at"),
                RiskAlertClosed: ("closed", "closed_at")}


async def alert_stepped(session: AsyncSession, d: RiskAlertAcknowledged | RiskAlertResponded | RiskAlertEscalated
                        | RiskAlertClosed, env: Envelope) -> None:
    state, column = _ALERT_STEPS[type(d)]
    await notice_writes.alert_changed(session, d.alert_id, _alert_base(d), state, **{column: d.at})
    await writes.announce(session, "alerts")


async def task_assigned(session: AsyncSession, d: TaskAssigned, env: Envelope) -> None:
    """One department's part of a joint task: its targets are planned visits (every department's part names
    the same joint targets; the first to arrive writes them, the others change nothing); none once its draw
    was abandoned."""
    if await writes.draw_abandoned(session, d.draw_id):
        return
    cities = await writes.cities_of(session, [t.uscc for t in d.targets])
    await writes.upsert_targets(session, [{
        "task_id": d.task_id, "uscc": t.uscc, "draw_id": d.draw_id, "entity_name": t.entity_name,
        "city_code": cities.get(t.uscc), "matter_code": d.matter_code, "lead_department": d.lead_department,
        "departments": sorted(t.joint_departments), "period_start": d.period_start, "period_end": d.period_end,
        "assigned_at": d.assigned_at} for t in d.targets])
    await writes.announce(session, "targets")


async def result_recorded(session: AsyncSession, d: ResultRecorded, env: Envelope) -> None:
    """Results are in at a planned visit: it awaits publication by ``due_on`` (told to every department of
    the visit; each copy writes the same)."""
    await writes.update_target(session, d.task_id, d.uscc, inspected_on=d.inspected_on, publish_by=d.due_on,
                               publish_by_provisional=d.due_provisional, recorded_at=d.recorded_at)
    await writes.announce(session, "targets")


async def publication_due_changed(session: AsyncSession, d: PublicationDueChanged, env: Envelope) -> None:
    await writes.update_target(session, d.task_id, d.uscc, publish_by=d.due_on,
                               publish_by_provisional=d.due_provisional)
    await writes.announce(session, "targets")


async def draw_abandoned(session: AsyncSession, d: DrawAbandoned, env: Envelope) -> None:
    await writes.remove_draw_targets(session, d.draw_id, d.at)
    await writes.announce(session, "targets")
