from datetime import date, datetime, timezone

from jsp_common import holidays
from jsp_common.clock import TZ
from jsp_common.settings import ServiceSettings
from jsp_common.workdays import (WorkCalendar, add_workdays, calendar_with_overrides, default_calendar, is_workday,
                                 workdays_between)


def test_deadline_crosses_national_day_2025():
    # Oct 1-8 are holidays; Sat Oct 11 is a make-up working day: Oct 9, 10, 11, 13, 14.
    assert add_workdays(date(2025, 9, 30), 5) == date(2025, 10, 14)
    assert workdays_between(date(2025, 9, 30), date(2025, 10, 14)) == 5


def test_make_up_saturday_is_a_working_day():
    assert is_workday(date(2025, 10, 11))
    assert not is_workday(date(2025, 10, 12))
    assert add_workdays(date(2025, 10, 10), 1) == date(2025, 10, 11)


def test_datetime_gives_end_of_day_in_shanghai():
    received = datetime(2025, 9, 30, 17, 0, tzinfo=timezone.utc)  # already Oct 1 01:00 in Shanghai
    assert add_workdays(received, 1) == datetime(2025, 10, 9, 23, 59, 59, tzinfo=TZ)
    assert add_workdays(datetime(2025, 9, 30, 9, 0), 1) == datetime(2025, 10, 9, 23, 59, 59, tzinfo=TZ)


def test_unknown_year_falls_back_to_weekdays_with_overrides():
    assert not WorkCalendar.has_official_data(2040)
    cal = WorkCalendar({date(2040, 1, 2): False})
    assert cal.add_workdays(date(2039, 12, 30), 1) == date(2040, 1, 3)  # Fri -> skip weekend and override
    assert default_calendar().add_workdays(date(2039, 12, 30), 1) == date(2040, 1, 2)


def test_overrides_from_the_setting(tmp_path, monkeypatch):
    path = tmp_path / "overrides.csv"
    path.write_text("date,is_workday\n2040-01-07,true\n", encoding="utf-8")
    monkeypatch.setenv("JSP_WORKDAY_OVERRIDES", str(path))
    settings = ServiceSettings(service_name="calendar")
    assert calendar_with_overrides(settings.workday_overrides).is_workday(date(2040, 1, 7))  # a Saturday
    assert default_calendar().is_workday(date(2040, 1, 7))
    monkeypatch.delenv("JSP_WORKDAY_OVERRIDES")
    assert not default_calendar().is_workday(date(2040, 1, 7))


def test_calendar_knows_holidays_until_the_end_of_the_last_year_with_a_schedule():
    assert WorkCalendar.has_official_data(2025) and not WorkCalendar.has_official_data(2040)
    official = WorkCalendar()
    last = next(y for y in range(2025, 2041) if not WorkCalendar.has_official_data(y)) - 1
    assert official.known_until(date(2025, 6, 1)) == date(last, 12, 31)
    # Next year's schedule published extends it; a later year alone does not (a gap stops it).
    published = WorkCalendar()
    published.apply(holidays.schedule(last + 2, [date(last + 2, 1, 1)], []))
    assert published.known_until(date(2025, 6, 1)) == date(last, 12, 31)
    published.apply(holidays.schedule(last + 1, [date(last + 1, 1, 1)], []))
    assert published.known_until(date(2025, 6, 1)) == date(last + 2, 12, 31)
    # In a year nobody knows, not even the current one is known.
    assert official.known_until(date(2040, 3, 1)) == date(2039, 12, 31)


def test_an_override_of_one_day_does_not_make_its_year_known():
    """A single day of a year without a schedule set by an override (say the first day of its Spring Festival):
    the year's other holidays are still unknown, so a deadline counted through it stays provisional and the year
    stays outside the span the calendar knows, until the year's schedule is published."""
    year = 2089  # a year chinese_calendar does not know
    assert not WorkCalendar.has_official_data(year) and not WorkCalendar.has_official_data(year - 1)
    cal = WorkCalendar({date(year, 2, 8): False})  # a Tuesday off
    received = datetime(year, 2, 3, 10, tzinfo=TZ)  # a Thursday
    deadline = cal.add_workdays(received, 5)  # Fri 4, Mon 7, Wed 9, Thu 10, Fri 11: the override counts
    assert deadline == datetime(year, 2, 11, 23, 59, 59, tzinfo=TZ)
    assert not cal.is_known(year)
    assert cal.is_provisional(received, deadline)
    assert cal.known_until(date(year, 1, 10)) == date(year - 1, 12, 31)  # the daily warning keeps naming the year

    cal.apply(holidays.schedule(year, [date(year, 1, 1)], []))  # the year's schedule published
    assert cal.is_known(year) and not cal.is_provisional(received, cal.add_workdays(received, 5))
    assert cal.add_workdays(received, 5) == datetime(year, 2, 11, 23, 59, 59, tzinfo=TZ)  # the override still wins
    assert cal.known_until(date(year, 1, 10)) == date(year, 12, 31)
