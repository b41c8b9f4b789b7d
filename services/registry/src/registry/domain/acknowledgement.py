"""Acknowledgement (签收) of a dual notification (双告知): when it is due, and when it counts as overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from jsp_common.workdays import WorkCalendar


@dataclass(frozen=True)
class Due:
    at: datetime
    provisional: bool  # counted through a year whose holiday schedule is not published yet


def acknowledge_by(calendar: WorkCalendar, issued_at: datetime, workdays: int) -> Due:
    """When a notification issued at ``issued_at`` must be acknowledged: ``workdays`` working days later
    (remembered per calendar state: the notifications of one transaction share their issue time)."""
    return _acknowledge_by(calendar, calendar.generation, issued_at, workdays)


@lru_cache(maxsize=16)
def _acknowledge_by(calendar: WorkCalendar, generation: int, issued_at: datetime, workdays: int) -> Due:
    at = calendar.add_workdays(issued_at, workdays)
    return Due(at, calendar.is_provisional(issued_at, at))


@dataclass(frozen=True)
class Reminding:
    next_at: datetime | None         # the next reminder
    overdue_since: datetime | None   # reminded as overdue since (None: not overdue)


def recounted(due: Due, *, now: datetime, reminder_count: int, next_reminder_at: datetime | None,
              overdue_since: datetime | None) -> Reminding:
    """A notification's reminders once its acknowledge-by time is counted again as ``due`` (a holiday schedule
    published or corrected). A time not reached yet: the notification is not overdue (reminders sent while the old
    time had passed stay counted, and the next one takes the next number) and is first reminded at that time. A
    time passed: a reminder not yet sent is due at it, one already sent keeps its own schedule."""
    if due.at > now:
        return Reminding(due.at, None)
    return Reminding(due.at if reminder_count == 0 else next_reminder_at, overdue_since)


def is_overdue(*, acknowledged_at: datetime | None, overdue_since: datetime | None, acknowledge_by: datetime,
               now: datetime, superseded: bool = False) -> bool:
    """Not acknowledged, and either already reminded as overdue or past its acknowledge-by time; never a superseded
    notice (the department must supervise the entity, and no longer does: moot).
    (``adapters.notifications.overdue_condition`` is the same rule in SQL.)"""
    return acknowledged_at is None and not superseded and (overdue_since is not None or now > acknowledge_by)


def acknowledged_late(*, acknowledged_at: datetime, acknowledge_by: datetime, superseded: bool = False,
                      superseded_at: datetime | None = None) -> bool:
    """Whether a notification acknowledged at ``acknowledged_at`` was late against ``acknowledge_by``: the overdue
    judgement of its acknowledgement made again once a provisional time is counted as final (reminders sent against
    the provisional time do not count: that time never was). Never a notice moot when acknowledged: superseded by a
    notice issued before (``superseded_at``) or, no notice superseding it (None), by the record."""
    moot = superseded and (superseded_at is None or superseded_at <= acknowledged_at)
    return not moot and acknowledged_at > acknowledge_by
