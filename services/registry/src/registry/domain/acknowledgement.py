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


def is_overdue(*, acknowledged_at: datetime | None, overdue_since: datetime | None, acknowledge_by: datetime,
               now: datetime, superseded: bool = False) -> bool:
    """Not acknowledged, and either already reminded as overdue or past its acknowledge-by time; never a superseded
    notice (the department must supervise the entity, and no longer does: moot).
    (``adapters.notifications.overdue_condition`` is the same rule in SQL.)"""
    return acknowledged_at is None and not superseded and (overdue_since is not None or now > acknowledge_by)
