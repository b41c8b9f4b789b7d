"""The office's holiday schedule of a year: what is refused, and how it changes the working-day count."""

from datetime import date, datetime

import pytest

from jsp_common import holidays
from jsp_common.clock import TZ
from jsp_common.workdays import WorkCalendar

FAR = 2091  # a year chinese_calendar will not know for a long time


def test_a_schedule_is_refused_with_every_reason_at_once():
    with pytest.raises(holidays.InvalidSchedule) as err:
        holidays.schedule(FAR, [date(FAR, 1, 1), date(FAR, 1, 1), date(FAR + 1, 1, 2)],
                          [date(FAR, 1, 3), date(FAR, 1, 6)])  # Wed 3 Jan is no weekend day
    reasons = {(e["field"], e["reason"]) for e in err.value.errors}
    assert ("holidays[1]", f"{FAR}-01-01 is listed more than once") in reasons
    assert ("holidays[2]", f"{FAR + 1}-01-02 is not in {FAR}") in reasons
    assert any(f == "makeup_workdays[0]" and "always a Saturday or Sunday" in r for f, r in reasons)
    assert not any(f == "makeup_workdays[1]" for f, _ in reasons)  # Sat 6 Jan is fine
    with pytest.raises(holidays.InvalidSchedule, match="empty"):
        holidays.schedule(FAR, [], [])
    with pytest.raises(holidays.InvalidSchedule, match="more than once"):
        holidays.schedule(FAR, [date(FAR, 2, 1)], [date(FAR, 2, 1)])


def test_a_published_year_makes_its_deadlines_final_and_counts_its_holidays_and_make_up_days():
    cal = WorkCalendar()
    received = datetime(FAR - 1, 12, 28, 10, 0, tzinfo=TZ)  # a Thursday
    before = cal.add_workdays(received, 3)
    assert before == datetime(FAR, 1, 2, 23, 59, 59, tzinfo=TZ)  # Fri 29, Mon 1, Tue 2: Monday to Friday
    assert cal.is_provisional(received, before)
    assert cal.known_until(date(FAR - 1, 12, 28)) < date(FAR - 1, 12, 31)
    assert cal.apply(holidays.schedule(FAR - 1, [date(FAR - 1, 10, 2)], []))
    assert cal.apply(holidays.schedule(FAR, [date(FAR, 1, 1)], [date(FAR, 1, 6)]))
    after = cal.add_workdays(received, 3)
    assert after == datetime(FAR, 1, 3, 23, 59, 59, tzinfo=TZ)  # 1 January is a holiday now
    assert not cal.is_provisional(received, after)
    assert cal.add_workdays(date(FAR, 1, 5), 1) == date(FAR, 1, 6)  # Saturday 6th is a make-up working day
    assert cal.known_until(date(FAR - 1, 12, 28)) == date(FAR, 12, 31)


def test_an_older_revision_never_replaces_a_newer_one_and_a_corrected_day_is_the_next_revision():
    cal = WorkCalendar()
    first = holidays.schedule(FAR, [date(FAR, 1, 1)], [])
    corrected = holidays.with_day(first, date(FAR, 1, 2), is_workday=False)
    assert corrected.revision == 2 and date(FAR, 1, 2) in corrected.holidays
    assert cal.apply(corrected)
    assert not cal.apply(first)
    assert not cal.is_workday(date(FAR, 1, 2))
    back = holidays.with_day(corrected, date(FAR, 1, 2), is_workday=True)
    assert cal.apply(back) and cal.is_workday(date(FAR, 1, 2))


def test_the_days_a_schedule_moves_are_those_it_counts_otherwise_than_the_calendar_now():
    """What a correction changes bounds which final deadlines are counted again."""
    cal = WorkCalendar({date(FAR, 5, 2): True})  # an override stands whatever a schedule says
    first = holidays.schedule(FAR, [date(FAR, 1, 1), date(FAR, 5, 2)], [date(FAR, 1, 6)])
    assert cal.days_moved_by(first) == [date(FAR, 1, 1), date(FAR, 1, 6)]  # against Monday to Friday
    cal.apply(first)
    corrected = holidays.with_day(first, date(FAR, 10, 4), is_workday=False)
    assert cal.days_moved_by(corrected) == [date(FAR, 10, 4)]
    assert cal.days_moved_by(first) == []  # the same days again move nothing
