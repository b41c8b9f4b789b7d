from datetime import date, datetime, timezone

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
    # Next year's schedule added as overrides extends it; a later year alone does not (a gap stops it).
    assert WorkCalendar({date(last + 1, 2, 8): False}).known_until(date(2025, 6, 1)) == date(last + 1, 12, 31)
    assert WorkCalendar({date(last + 2, 2, 8): False}).known_until(date(2025, 6, 1)) == date(last, 12, 31)
    # In a year nobody knows, not even the current one is known.
    assert official.known_until(date(2040, 3, 1)) == date(2039, 12, 31)
