"""A year's holiday schedule was published or corrected: every unanswered alert whose response deadline was
provisional (counted in working days through a year whose schedule was not known), or counted through a day the
schedule moved, is counted again, the change
recorded on its history and announced where its other changes go: the general alerts topic and each
responsible department's own (``risk.alert.respond-by-changed.v1``, both times given).

An alert already escalated for its old deadline stays escalated: the office has it; a new deadline that has
passed is escalated by the periodic scan as any other. An answered or closed alert whose deadline was provisional
takes its final one, recorded on its history only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from jsp_common.events.risk import RiskAlertRespondByChanged
from jsp_common.holidays import YearSchedule
from jsp_common.outbox import SessionTx
from jsp_common.schedule_feed import Moved, Recount, recount_deadlines

from ..adapters import alert_rows
from ..deps import Deps
from ..domain import alerts as rules
from .alerts import alert_fields, publish, record

CALENDAR = "risk.workday-schedule"
BATCH = 500


async def recompute_deadlines(deps: Deps, schedules: Sequence[YearSchedule], moved: Moved = (), *,
                              now: datetime | None = None) -> int:
    """Returns how many response deadlines moved or became final."""
    return await recount_deadlines(
        deps.db, deps.source, schedules, moved, [Recount(
            what="response deadlines", fetch=alert_rows.alerts_to_recount, recount=partial(_recount, deps),
            after_of=lambda alert: (alert["raised_at"], alert["id"]))],
        batch=BATCH, calendar=deps.calendar, now=now)


async def _recount(deps: Deps, tx: SessionTx, alert: dict, *, reason: str, now: datetime) -> int:
    before = rules.RespondBy(alert["respond_by"], alert["respond_within_workdays"], alert["respond_by_provisional"])
    again = rules.recount(deps.calendar, alert["raised_at"], before)
    if alert["state"] not in rules.UNANSWERED:
        return await _settle_answered(tx, alert, before, again, reason=reason, now=now)
    if again is None or again.at is None or before.at is None:
        return 0
    passed = now > before.at
    await alert_rows.update_alert(tx.session, alert["id"], **again.columns())
    await record(tx, alert, "recompute_respond_by", CALENDAR, None, now, previous_respond_by=before.at.isoformat(),
                 respond_by=again.at.isoformat(), provisional=again.provisional, previous_passed=passed, reason=reason)
    await publish(tx, RiskAlertRespondByChanged(
        **alert_fields(alert), previous_respond_by=before.at, respond_by=again.at,
        respond_by_provisional=again.provisional, previous_passed=passed, state=alert["state"], reason=reason[:500],
        at=now), list(alert["departments"]))
    return 1


async def _settle_answered(tx: SessionTx, alert: dict, before: rules.RespondBy, again: rules.RespondBy | None, *,
                           reason: str, now: datetime) -> int:
    """An answered or closed alert's provisional deadline counted again: no longer provisional (once the years it
    runs through are known), nothing announced (the departments are done with it, as with a finished clue). A
    deadline that moved is recorded on the alert's history; an escalation made for the provisional one stands, as
    for an alert still to answer."""
    if before.workdays is None or before.at is None:  # not counted in working days: nothing to count again
        await alert_rows.update_alert(tx.session, alert["id"], respond_by_provisional=False)
        return 1
    if again is None:  # the same deadline, still provisional
        return 0
    await alert_rows.update_alert(tx.session, alert["id"], **again.columns())
    if again.at != before.at:
        await record(tx, alert, "recompute_respond_by", CALENDAR, None, now, previous_respond_by=before.at.isoformat(),
                     respond_by=again.at.isoformat(), provisional=again.provisional, reason=reason, announced=False)
    return 1
