"""A published working-day schedule reaches a running service's calendar through the reference topic,
without a restart, and the service's recomputation hook runs until it succeeds, told which days each revision
moved; a one-off command reads them once."""

from __future__ import annotations

import time
from datetime import date, datetime

from jsp_common import clock
from jsp_common.holidays import YearSchedule
from jsp_common.schedule_feed import ScheduleFeed, packaged_schedule, read_once
from jsp_common.topics import WORKDAY_SCHEDULES
from jsp_common.workdays import WorkCalendar
from jsp_testkit.testing import publish_schedule, wait_until

YEAR = 2092  # this test's own year: no other test publishes it
BASE = int(time.time())  # above whatever earlier runs left on a developer's broker
MAKEUP = [date(YEAR, 1, 5)]


async def test_schedules_are_read_at_start_then_followed_and_the_hook_is_retried(kafka_topics, raw_producer,
                                                                                 bootstrap):
    await publish_schedule(raw_producer, YEAR, [date(YEAR, 1, 1)], makeup_workdays=MAKEUP, revision=BASE + 1)
    await raw_producer.send_and_wait(WORKDAY_SCHEDULES, b"not an envelope", key=str(YEAR).encode())

    calendar, seen, failures = WorkCalendar(), [], [1]

    async def on_change(schedules, moved):
        if failures and schedules[0].revision == BASE + 2:
            failures.pop()
            raise ConnectionError("database away")
        seen.extend((s.year, s.revision, [span for span in moved if span[0].year == YEAR])
                    for s in schedules if s.year == YEAR)

    feed = ScheduleFeed(calendar, on_change=on_change, retry_s=0.05, bootstrap_servers=bootstrap)
    await feed.start()
    try:
        # Read whole before start() returns: the service counts with it before it takes any work.
        assert calendar.schedule_of(YEAR).revision == BASE + 1
        # Against Monday to Friday, the first revision moved New Year's Day and the make-up Saturday.
        assert (YEAR, BASE + 1, [(date(YEAR, 1, 1), date(YEAR, 1, 5))]) in seen
        assert not calendar.is_workday(date(YEAR, 1, 1)) and calendar.is_workday(date(YEAR, 1, 5))
        assert not calendar.is_provisional(datetime(YEAR, 1, 2, tzinfo=clock.TZ), date(YEAR, 3, 1))

        await publish_schedule(raw_producer, YEAR, [date(YEAR, 1, 1), date(YEAR, 1, 2)], makeup_workdays=MAKEUP,
                               revision=BASE + 2)
        # The correction moved 2 January alone: only deadlines counted through it may count otherwise.
        await wait_until(lambda: (YEAR, BASE + 2, [(date(YEAR, 1, 2), date(YEAR, 1, 2))]) in seen, timeout=30)
        assert not failures  # the failing hook was tried again, not skipped
        assert not calendar.is_workday(date(YEAR, 1, 2))
    finally:
        await feed.stop()


async def test_a_one_off_command_reads_the_published_schedules_once(kafka_topics, raw_producer, bootstrap):
    """A full re-scoring run as a command counted the deadlines of the alerts it raised without the published
    schedules (the packaged calendar only): a year they publish was counted Monday to Friday, as provisional."""
    year = YEAR + 1
    await publish_schedule(raw_producer, year, [date(year, 1, 1)], makeup_workdays=[date(year, 1, 3)],
                           revision=BASE + 1)
    calendar = WorkCalendar()
    assert calendar.is_provisional(datetime(year, 1, 2, tzinfo=clock.TZ), date(year, 3, 1))
    await read_once(calendar, bootstrap_servers=bootstrap)
    assert calendar.schedule_of(year).revision == BASE + 1
    assert not calendar.is_workday(date(year, 1, 1)) and calendar.is_workday(date(year, 1, 3))


async def test_the_packaged_calendar_s_years_are_counted_with_once_every_published_schedule_is_read(
        kafka_topics, raw_producer, bootstrap):
    """At start the recount hook gets the years the packaged calendar knows and no published schedule covers, but
    only once the topic was read to the end: a start that ran out of time took the years it had not read yet for
    the package's, counted deadlines with them, and never moved them back."""
    await publish_schedule(raw_producer, YEAR + 2, [date(YEAR + 2, 1, 1)], revision=BASE + 1)  # something to read
    seen: list[YearSchedule] = []

    async def on_change(schedules, moved):
        seen.extend(schedules)

    hurried = ScheduleFeed(WorkCalendar(), on_change=on_change, bootstrap_servers=bootstrap)
    await hurried.start(timeout_s=-1)  # no time to read the topic before going on
    await hurried.stop()
    assert [s for s in seen if s.revision == 0] == []

    calendar = WorkCalendar()
    feed = ScheduleFeed(calendar, on_change=on_change, bootstrap_servers=bootstrap)
    await feed.start()
    await feed.stop()
    this_year = clock.now().astimezone(clock.TZ).year
    packaged = [y for y in range(this_year - 1, this_year + 3)
                if calendar.schedule_of(y) is None and WorkCalendar.has_official_data(y)]
    assert sorted(s.year for s in seen if s.revision == 0) == packaged
    assert all(s == packaged_schedule(s.year) for s in seen if s.revision == 0)
