"""Clock (时钟): the platform's time zone and current time.

All deadlines and calendar days are reckoned in China Standard Time.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current time as an aware datetime in Asia/Shanghai."""
    return datetime.now(TZ)


def today() -> date:
    """Today's date in Asia/Shanghai."""
    return now().date()


def as_local(moment: datetime) -> datetime:
    """``moment`` converted to Asia/Shanghai; a naive datetime is taken to be Asia/Shanghai already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=TZ)
    return moment.astimezone(TZ)
