"""When the daily job is due: once a day at a local time, a missed day made up, never twice for one day."""

from datetime import datetime, time, timezone

from jsp_common import clock

from risk.domain import daily

AT = time(2, 0)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=clock.TZ)


def test_due_at_the_local_time_of_day_not_utc():
    # 01:30 local is 17:30 UTC the day before: yesterday's 02:00 is the last moment due, not today's
    assert daily.last_due(local(2024, 5, 2, 1, 30), AT) == local(2024, 5, 1, 2, 0)
    assert daily.last_due(datetime(2024, 5, 1, 18, 0, tzinfo=timezone.utc), AT) == local(2024, 5, 2, 2, 0)


def test_once_a_day_and_a_missed_day_made_up():
    assert daily.due(None, local(2024, 5, 2, 1, 30), AT) == local(2024, 5, 1, 2, 0)  # never ran: at once
    assert daily.due(local(2024, 5, 1, 2, 0), local(2024, 5, 2, 1, 59), AT) is None
    assert daily.due(local(2024, 5, 1, 2, 0), local(2024, 5, 2, 2, 0), AT) == local(2024, 5, 2, 2, 0)
    assert daily.due(local(2024, 5, 2, 2, 0), local(2024, 5, 2, 23, 0), AT) is None
    # the service away for three days: one run when it is back, for the latest day
    assert daily.due(local(2024, 5, 2, 2, 0), local(2024, 5, 5, 9, 0), AT) == local(2024, 5, 5, 2, 0)
