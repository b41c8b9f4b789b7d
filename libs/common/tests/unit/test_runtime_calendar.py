"""The daily check of how far ahead the working-day calendar knows holidays (no servers: the job only
reads the calendar and sets a gauge)."""

from datetime import date

from prometheus_client import REGISTRY

from jsp_common import clock
from jsp_common.runtime import ServiceRuntime
from jsp_common.settings import ServiceSettings
from jsp_common.workdays import WorkCalendar, deadline_end_of


async def test_the_gauge_tells_when_deadlines_stop_knowing_holidays(monkeypatch):
    runtime = ServiceRuntime(ServiceSettings(service_name="calendar-check"))
    calendar = WorkCalendar()
    runtime.watch_calendar(calendar)
    [job] = [p for p in runtime._periodic if p.name == "workday-calendar"]
    for today in (date(2025, 6, 1), date(2040, 3, 1)):
        monkeypatch.setattr(clock, "today", lambda today=today: today)
        await job.job()
        assert REGISTRY.get_sample_value("jsp_workday_calendar_known_until_seconds") == \
            deadline_end_of(calendar.known_until(today)).timestamp()
    assert REGISTRY.get_sample_value("jsp_workday_calendar_known_until_seconds") == \
        deadline_end_of(date(2039, 12, 31)).timestamp()
    await runtime.db.dispose()


async def test_an_override_of_one_day_does_not_stop_the_warning_about_its_year(monkeypatch):
    """The office set one day of a year without a published schedule: the gauge still ends before that year, so the
    alert (and the daily warning) about the missing schedule go on."""
    runtime = ServiceRuntime(ServiceSettings(service_name="calendar-check"))
    runtime.watch_calendar(WorkCalendar({date(2089, 2, 8): False}))
    [job] = [p for p in runtime._periodic if p.name == "workday-calendar"]
    monkeypatch.setattr(clock, "today", lambda: date(2089, 1, 10))
    await job.job()
    assert REGISTRY.get_sample_value("jsp_workday_calendar_known_until_seconds") == \
        deadline_end_of(date(2088, 12, 31)).timestamp()
    await runtime.db.dispose()
