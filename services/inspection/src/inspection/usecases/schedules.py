"""A year's holiday schedule was published or corrected: every unpublished result whose publication deadline
was provisional (counted through a year whose schedule was not known), or counted through a day the schedule
moved, is counted again; each department of
the joint visit is told on its own topic (``inspection.publication.due-changed.v1``, both dates given), and
the office's list of overdue publications uses the new date. A result published while its deadline was
provisional takes its final deadline too, quietly (the mark is not shown for ever; no department is told)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import partial

from jsp_common import clock, topics
from jsp_common.events.inspection import PublicationDueChanged
from jsp_common.holidays import YearSchedule
from jsp_common.outbox import SessionTx
from jsp_common.schedule_feed import Moved, Recount, recount_deadlines

from ..adapters import tasks as repo
from ..deps import Deps
from ..domain import access, publication

BATCH = 500


async def recompute_deadlines(deps: Deps, schedules: Sequence[YearSchedule], moved: Moved = (), *,
                              now: datetime | None = None) -> int:
    """Returns how many publication deadlines moved or became final."""
    return await recount_deadlines(
        deps.db, deps.source, schedules, moved, [Recount(
            what="publication deadlines", fetch=repo.dues_to_recount, recount=partial(_recount, deps),
            after_of=lambda t: (t["inspected_on"], t["task_id"], t["uscc"]))],
        batch=BATCH, calendar=deps.calendar, now=now)


async def _recount(deps: Deps, tx: SessionTx, t: dict, *, reason: str, now: datetime) -> int:
    # With the working days it was counted with: the schedule moves a deadline, a setting changed since does not.
    # (None: fixed by a replica still running the code before they were kept, during an upgrade.)
    workdays = t["due_workdays"] if t["due_workdays"] is not None else deps.settings.publish_within_workdays
    due: date = publication.due_on(deps.calendar, t["inspected_on"], workdays)
    provisional = publication.is_provisional(deps.calendar, t["inspected_on"], due)
    if (due, provisional) == (t["due_on"], t["due_provisional"]):
        return 0
    await repo.set_target(tx.session, t["task_id"], t["uscc"], due_on=due, due_workdays=workdays,
                          due_provisional=provisional)
    if t["published_at"] is not None:  # published (within the deadline or not): final now, nobody to tell
        return 1
    passed = publication.overdue(t["due_on"], clock.as_local(now).date(), published=False)
    for department in access.told_of_results(t["departments"], t["lead_department"]):
        await tx.emit(topics.department_topic(topics.DEPARTMENT_INSPECTIONS, department), PublicationDueChanged(
            task_id=t["task_id"], uscc=t["uscc"], department=department, inspected_on=t["inspected_on"],
            previous_due_on=t["due_on"], due_on=due, due_provisional=provisional, previous_passed=passed,
            reason=reason[:500], changed_at=now), key=t["task_id"])
    return 1
