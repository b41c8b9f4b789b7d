"""Deadlines in working days (工作日): handling limits per urgency and channel, chasers and escalations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jsp_common.workdays import WorkCalendar

ANY_CHANNEL = "*"


def handling_workdays(policies: dict[tuple[str, str], int], channel: str, urgency: str, fallback: int) -> int:
    """The policy for (channel, urgency); a channel's own row wins over the ``*`` row."""
    return policies.get((channel, urgency), policies.get((ANY_CHANNEL, urgency), fallback))


def handling_deadline(calendar: WorkCalendar, received_at: datetime, workdays: int) -> datetime:
    """End of the n-th working day after receipt (the receipt day does not count)."""
    return calendar.add_workdays(received_at, workdays)


@dataclass(frozen=True)
class Deadline:
    """A handling deadline: ``workdays`` working days after ``start``; provisional when counted through a year
    whose holiday schedule is not published yet (Monday to Friday there)."""

    at: datetime
    start: datetime
    workdays: int
    provisional: bool

    def columns(self) -> dict:
        return {"deadline": self.at, "deadline_from": self.start, "deadline_workdays": self.workdays,
                "deadline_provisional": self.provisional}


def counted(calendar: WorkCalendar, start: datetime, workdays: int) -> Deadline:
    at = calendar.add_workdays(start, workdays)
    return Deadline(at, start, workdays, calendar.is_provisional(start, at))


def extended(calendar: WorkCalendar, current: Deadline, workdays: int) -> Deadline:
    """``current`` moved by an approved extension of ``workdays`` working days."""
    return counted(calendar, current.start, current.workdays + workdays)


def recount(calendar: WorkCalendar, current: Deadline) -> Deadline | None:
    """``current`` counted again with the calendar as it is now; None when neither the date nor its being
    provisional changes."""
    again = counted(calendar, current.start, current.workdays)
    return None if (again.at, again.provisional) == (current.at, current.provisional) else again


@dataclass(frozen=True)
class Chase:
    workdays_left: int


@dataclass(frozen=True)
class Escalate:
    overdue_workdays: int


def due_action(calendar: WorkCalendar, now: datetime, deadline: datetime, *, chased: bool, escalated: bool,
               chase_when_left: int, escalate_after_overdue: int) -> Chase | Escalate | None:
    """What the periodic scan owes a clue now: a chaser (催办) when near or past the deadline, then an
    escalation (督办) once it is overdue by ``escalate_after_overdue`` working days."""
    if now > deadline:
        overdue = calendar.workdays_between(deadline, now)
        if not chased:
            return Chase(-overdue)
        if not escalated and overdue >= escalate_after_overdue:
            return Escalate(overdue)
        return None
    if chased:
        return None
    left = calendar.workdays_between(now, deadline)
    return Chase(left) if left <= chase_when_left else None
