"""A year's holiday schedule was published or corrected: every unpublished result whose publication deadline
was provisional (counted through a year whose schedule was not known) is counted again; the office's list of
overdue publications uses the new date."""

from __future__ import annotations

from collections.abc import Sequence

from jsp_common.holidays import YearSchedule
from jsp_common.logs import get_logger

from ..adapters import tasks as repo
from ..deps import Deps
from ..domain import publication

log = get_logger(__name__)
BATCH = 500


async def recompute_provisional(deps: Deps, schedules: Sequence[YearSchedule]) -> int:
    """Returns how many publication deadlines moved or became final."""
    changed, after = 0, None
    while True:
        async with deps.db.transaction() as session:
            rows = await repo.provisional_dues(session, after=after, limit=BATCH)
            for t in rows:
                due = publication.due_on(deps.calendar, t["inspected_on"], deps.settings.publish_within_workdays)
                provisional = publication.is_provisional(deps.calendar, t["inspected_on"], due)
                if (due, provisional) != (t["due_on"], True):
                    await repo.set_target(session, t["task_id"], t["uscc"], due_on=due, due_provisional=provisional)
                    log.info("publication deadline recomputed", task_id=t["task_id"], uscc=t["uscc"],
                             previous=t["due_on"].isoformat(), due_on=due.isoformat(), provisional=provisional,
                             years=[s.year for s in schedules])
                    changed += 1
        if len(rows) < BATCH:
            return changed
        after = (rows[-1]["inspected_on"], rows[-1]["task_id"], rows[-1]["uscc"])
