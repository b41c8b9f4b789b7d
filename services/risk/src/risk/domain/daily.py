"""When a daily job is due (pure): once a day at a local time of day (Asia/Shanghai), a run missed while the
service was away made up at its next chance, never twice for the same day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from jsp_common import clock


def last_due(now: datetime, at: time) -> datetime:
    """The latest moment at or before ``now`` that is ``at`` in local time."""
    local = clock.as_local(now)
    moment = datetime.combine(local.date(), at, tzinfo=clock.TZ)
    return moment if moment <= local else datetime.combine(local.date() - timedelta(days=1), at, tzinfo=clock.TZ)


def due(last_run_for: datetime | None, now: datetime, at: time) -> datetime | None:
    """The daily moment a run now would be for, or None when the run for it was done already (``last_run_for``:
    the moment the last completed run was for)."""
    moment = last_due(now, at)
    return moment if last_run_for is None or last_run_for < moment else None
