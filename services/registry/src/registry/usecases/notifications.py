"""Dual notifications (双告知) after they are issued: a department's list, acknowledgement (签收), and the
reminders of those not acknowledged in time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, topics
from jsp_common.events.registry import NotificationAcknowledged, NotificationDueChanged, NotificationReminded
from jsp_common.holidays import YearSchedule
from jsp_common.logs import get_logger
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem
from jsp_common.schedule_feed import Moved, Recount, recount_deadlines

from ..adapters import adjudication as cases
from ..adapters import notifications as notes
from ..deps import Deps
from ..domain.access import can_see_entity
from ..domain.acknowledgement import Due, acknowledge_by, acknowledged_late, is_overdue, recounted
from .responsibility import SYSTEM

log = get_logger(__name__)


async def search(session: AsyncSession, *, department: str | None, uscc: str | None, acknowledged: bool | None,
                 overdue: bool | None, now: datetime, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    return await notes.search(session, department=department, uscc=uscc, acknowledged=acknowledged,
                              overdue=overdue, now=now, limit=limit, offset=offset)


async def visible(session: AsyncSession, principal: Principal, notification_id: str, *,
                  lock: bool = False) -> dict[str, Any]:
    """A notification the caller may see (404 otherwise: another department's does not exist for it)."""
    row = await notes.one(session, notification_id, lock=lock)
    if row is None or not can_see_entity(principal, [row["department"]]):
        raise Problem(404, f"no notification {notification_id} here")
    return row


async def acknowledge(deps: Deps, tx: Tx, notification_id: str, principal: Principal) -> dict[str, Any]:
    session = tx.session
    row = await visible(session, principal, notification_id, lock=True)
    if principal.department != row["department"]:
        raise Problem(403, "only the notified department acknowledges its notifications")
    if row["acknowledged_at"] is not None:
        return row
    now = clock.now()
    was_overdue = is_overdue(acknowledged_at=None, overdue_since=row["overdue_since"],
                             acknowledge_by=row["acknowledge_by"], now=now, superseded=row["superseded"])
    actor = principal.subject
    await notes.acknowledge(session, notification_id, by=actor, now=now)
    await cases.add_decision(session, uscc=row["uscc"], action="notification_acknowledged", actor=actor, now=now,
                             details={"notification_id": notification_id, "department": row["department"],
                                      "was_overdue": was_overdue})
    await tx.emit(topics.department_topic(topics.NOTIFICATIONS, row["department"]), NotificationAcknowledged(
        notification_id=notification_id, department=row["department"], uscc=row["uscc"], acknowledged_by=actor,
        acknowledged_at=now, was_overdue=was_overdue), key=row["uscc"])
    return {**row, "acknowledged_at": now, "acknowledged_by": actor}


async def remind_overdue(deps: Deps, *, now: datetime | None = None) -> int:
    """Periodic: remind departments of notifications not acknowledged in time. Returns how many reminders.
    A reminder's id derives from its notification and number: sent again from a restored database, it is the
    one the department has."""
    now = now or clock.now()
    next_at = deps.calendar.add_workdays(now, deps.settings.remind_every_workdays)
    async with deps.db.transaction() as session:
        rows = await notes.remind_due(session, now=now, next_at=next_at, limit=deps.settings.overdue_scan_batch)
        scan = SessionTx(session, deps.source)
        for row in rows:
            tx = scan.caused_by("registry.reminder", row.id, row.reminder_count)
            await tx.emit(topics.department_topic(topics.NOTIFICATIONS, row.department), NotificationReminded(
                notification_id=row.id, department=row.department, uscc=row.uscc, issued_at=row.issued_at,
                acknowledge_by=row.acknowledge_by, reminded_at=now, reminder_count=row.reminder_count),
                key=row.uscc)
    sent = len(rows)
    if sent:
        log.info("overdue notifications reminded", count=sent)
    return sent


async def recompute_deadlines(deps: Deps, schedules: Sequence[YearSchedule], moved: Moved = (), *,
                              now: datetime | None = None) -> int:
    """A year's holiday schedule was published or corrected: recompute every unacknowledged notification whose
    acknowledge-by time was provisional or counted through a day the schedule moved, record the change on the
    entity's history and tell the department (``registry.notification.due-changed.v1``, both times given); an
    acknowledged or superseded notification whose time was provisional takes its final time, recorded on the history
    only (the department is done with it, as with a finished clue). Returns how many moved or became final."""
    return await recount_deadlines(
        deps.db, deps.source, schedules, moved, [Recount(
            what="acknowledge-by times", fetch=notes.to_recount, recount=partial(_recount, deps),
            after_of=lambda row: (row["issued_at"], row["id"]))],
        batch=deps.settings.overdue_scan_batch, calendar=deps.calendar, now=now)


async def _recount(deps: Deps, tx: Tx, row: dict[str, Any], *, reason: str, now: datetime) -> int:
    # With the working days it was issued with: the schedule moves a deadline, a setting changed since does not.
    # (None: issued before they were kept, or by a replica of the release before during an upgrade.)
    workdays = row["acknowledge_within_workdays"]
    if workdays is None:
        workdays = deps.settings.ack_workdays
    due = acknowledge_by(deps.calendar, row["issued_at"], workdays)
    if due == Due(row["acknowledge_by"], row["acknowledge_by_provisional"]):
        return 0
    if row["acknowledged_at"] is not None or row["superseded"]:
        await _settle_finished(tx, row, due, reason=reason, now=now)
    else:
        await _announce_due(tx, row, due, reason=reason, now=now)
    return 1


async def _settle_finished(tx: Tx, row: dict[str, Any], due: Due, *, reason: str, now: datetime) -> None:
    """An acknowledged or superseded notification's provisional time counted again: no longer provisional (once the
    years it runs through are known), nothing announced and its reminders as they were. A time that moved is
    recorded on the entity's history, with the acknowledgement judged again against it (``was_overdue``: the one
    recorded and published when it was acknowledged was judged against the provisional time, and stands as
    published)."""
    session = tx.session
    await notes.set_acknowledge_by(session, row["id"], acknowledge_by=due.at, provisional=due.provisional)
    if due.at == row["acknowledge_by"]:
        return
    details: dict[str, Any] = {"notification_id": row["id"], "department": row["department"],
                               "previous_acknowledge_by": row["acknowledge_by"].isoformat(),
                               "acknowledge_by": due.at.isoformat(), "provisional": due.provisional,
                               "reason": reason, "announced": False}
    acknowledged_at = row["acknowledged_at"]
    if acknowledged_at is not None:
        details["was_overdue"] = acknowledged_late(acknowledged_at=acknowledged_at, acknowledge_by=due.at,
                                                   superseded=row["superseded"], superseded_at=row["superseded_at"])
    await cases.add_decision(session, uscc=row["uscc"], action="notification_due_changed", actor=SYSTEM, now=now,
                             details=details)


async def _announce_due(tx: Tx, row: dict[str, Any], due: Due, *, reason: str, now: datetime) -> None:
    session = tx.session
    reminding = recounted(due, now=now, reminder_count=row["reminder_count"],
                          next_reminder_at=row["next_reminder_at"], overdue_since=row["overdue_since"])
    await notes.set_due(session, row["id"], acknowledge_by=due.at, provisional=due.provisional,
                        next_reminder_at=reminding.next_at, overdue_since=reminding.overdue_since)
    passed = now > row["acknowledge_by"]
    await cases.add_decision(session, uscc=row["uscc"], action="notification_due_changed", actor=SYSTEM, now=now,
                             details={"notification_id": row["id"], "department": row["department"],
                                      "previous_acknowledge_by": row["acknowledge_by"].isoformat(),
                                      "acknowledge_by": due.at.isoformat(), "provisional": due.provisional,
                                      "previous_passed": passed, "reason": reason})
    await tx.emit(topics.department_topic(topics.NOTIFICATIONS, row["department"]), NotificationDueChanged(
        notification_id=row["id"], department=row["department"], uscc=row["uscc"], issued_at=row["issued_at"],
        previous_acknowledge_by=row["acknowledge_by"], acknowledge_by=due.at, acknowledge_by_provisional=due.provisional,
        previous_passed=passed, reason=reason[:500], changed_at=now), key=row["uscc"])
