"""When a dual notification (双告知) counts as overdue."""

from __future__ import annotations

from datetime import datetime


def is_overdue(*, acknowledged_at: datetime | None, overdue_since: datetime | None, acknowledge_by: datetime,
               now: datetime) -> bool:
    """Not acknowledged, and either already reminded as overdue or past its acknowledge-by time.
    (``repository.overdue_condition`` is the same rule in SQL.)"""
    return acknowledged_at is None and (overdue_since is not None or now > acknowledge_by)
