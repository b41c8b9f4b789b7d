"""Publication of results (一公开): within N working days of the inspection (setting, default 20), counted
on the shared working-day calendar (official holidays skipped, make-up working days counted)."""

from __future__ import annotations

from datetime import date

from jsp_common.events.inspection import ItemOutcome
from jsp_common.workdays import WorkCalendar


def due_on(calendar: WorkCalendar, inspected_on: date, workdays: int) -> date:
    """The last day to publish: the ``workdays``-th working day after the inspection day."""
    return calendar.add_workdays(inspected_on, workdays)


def is_provisional(calendar: WorkCalendar, inspected_on: date, due: date) -> bool:
    """Counted through a year whose holiday schedule is not published yet (Monday to Friday there)."""
    return calendar.is_provisional(inspected_on, due)


def overdue(due: date, today: date, published: bool) -> bool:
    return not published and today > due


def problems_found(outcomes: list[ItemOutcome | str]) -> bool:
    return any(ItemOutcome(o) != ItemOutcome.NO_PROBLEM for o in outcomes)


# Outcomes that raise a clue on the clues service's intake (a problem the team found).
CLUE_OUTCOMES = frozenset({ItemOutcome.CORRECTION_ORDERED, ItemOutcome.REFERRED_FOR_CASE})
