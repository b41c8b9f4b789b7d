"""Acknowledgement (签收) of a dual notification (双告知): when it is due, and when it counts as overdue."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from jsp_common.workdays import WorkCalendar


@lru_cache(maxsize=16)
def acknowledge_by(calendar: WorkCalendar, issued_at: datetime, workdays: int) -> datetime:
    """When a notification issued at ``issued_at`` must be acknowledged: ``workdays`` working days later
    (remembered: the notifications of one transaction share their issue time)."""
    return calendar.add_workdays(issued_at, workdays)


def is_overdue(*, acknowledged_at: datetime | None, overdue_since: datetime | None, acknowledge_by: datetime,
               now: datetime) -> bool:
    """Not acknowledged, and either already reminded as overdue or past its acknowledge-by time.
    (``adapters.notifications.overdue_condition`` is the same rule in SQL.)"""
    return acknowledged_at is None and (overdue_since is not None or now > acknowledge_by)
