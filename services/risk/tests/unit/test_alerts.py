"""When alerts are raised, kept, suppressed by the cool-down, closed, and escalated."""

from datetime import date, datetime, timedelta

from jsp_common import clock
from jsp_common.events.risk import WarningLevel as L
from jsp_common import holidays
from jsp_common.workdays import WorkCalendar
from risk.domain.alerts import (Close, Keep, LastAlert, OpenAlert, Raise, Suppressed, decide, overdue, recount,
                                respond_by, response_deadline, with_contributions)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=clock.TZ)  # a Monday


def d(level, score, open_alert=None, last=None, cooldown=24):
    return decide(level=level, score=score, open_alert=open_alert, last_at_level=last, now=NOW, cooldown_hours=cooldown)


def test_crossing_a_level_raises_and_a_higher_one_supersedes():
    assert d(L.BLUE, 25) == Raise(L.BLUE)
    blue = OpenAlert("a1", L.BLUE, 25)
    assert d(L.BLUE, 30, blue) == Keep()
    assert d(L.ORANGE, 65, blue) == Raise(L.ORANGE, supersedes=blue)
    assert d(None, 5) == Keep()


def test_falling_score_closes_the_alert():
    orange = OpenAlert("a2", L.ORANGE, 65)
    assert d(L.BLUE, 25, orange) == Close(orange, "score_fell")
    assert d(None, 0, orange) == Close(orange, "score_fell")


def test_cool_down_suppresses_the_same_level_unless_the_score_rises():
    last = LastAlert(L.YELLOW, NOW - timedelta(hours=3), 45)
    assert isinstance(d(L.YELLOW, 45, last=last), Suppressed)
    assert isinstance(d(L.YELLOW, 41, last=last), Suppressed)
    assert d(L.YELLOW, 45, last=last).until == NOW + timedelta(hours=21)  # when the held-back alert may be raised
    assert d(L.YELLOW, 50, last=last) == Raise(L.YELLOW)               # higher than then
    assert d(L.YELLOW, 45, last=last, cooldown=2) == Raise(L.YELLOW)  # cool-down over
    assert d(L.ORANGE, 61, last=last) == Raise(L.ORANGE)              # another level


def test_response_deadline_in_hours_or_working_days(starter):
    cal = WorkCalendar({date(2026, 3, 3): False})  # a holiday on Tuesday
    assert respond_by(starter.plan(L.RED), NOW, cal) == NOW + timedelta(hours=24)
    by = respond_by(starter.plan(L.ORANGE), NOW, cal)  # 2 working days, Tuesday off
    assert clock.as_local(by).date() == date(2026, 3, 5)


def test_a_deadline_counted_through_an_unknown_year_is_provisional_and_counted_again_once_it_is_known(starter):
    year = WorkCalendar().known_until(NOW.date()).year + 1  # the first year without a schedule
    raised = datetime(year - 1, 12, 28, 10, 0, tzinfo=clock.TZ)
    cal = WorkCalendar()
    plan = starter.plan(L.BLUE).model_copy(update={"respond_within_workdays": 10})
    before = response_deadline(plan, raised, cal)
    assert before.provisional and before.workdays == 10 and before.at.year == year
    assert recount(cal, raised, before) is None  # nothing new known: nothing changes
    cal.apply(holidays.schedule(year, [date(year, 1, 1) + timedelta(days=n) for n in range(3)
                                       if date(year, 1, 1 + n).weekday() < 5], []))
    again = recount(cal, raised, before)
    assert again is not None and not again.provisional and again.at > before.at and again.workdays == 10
    assert recount(cal, raised, again) is None
    hours = response_deadline(starter.plan(L.RED), raised, cal)  # counted in hours: never provisional
    assert hours.workdays is None and not hours.provisional and recount(cal, raised, hours) is None


def test_only_unanswered_alerts_past_their_deadline_escalate_once():
    past, future = NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)
    assert overdue(state="open", escalate=True, respond_by_at=past, escalated_at=None, now=NOW)
    assert overdue(state="acknowledged", escalate=True, respond_by_at=past, escalated_at=None, now=NOW)
    assert not overdue(state="responded", escalate=True, respond_by_at=past, escalated_at=None, now=NOW)
    assert not overdue(state="open", escalate=True, respond_by_at=future, escalated_at=None, now=NOW)
    assert not overdue(state="open", escalate=False, respond_by_at=past, escalated_at=None, now=NOW)
    assert not overdue(state="open", escalate=True, respond_by_at=past, escalated_at=past, now=NOW)


def test_an_alert_s_text_lists_its_contributions_within_the_field_s_limit():
    few = [{"indicator": "gas_over_limit", "count": 2.0}, {"indicator": "complaints", "count": 1.5}]
    assert with_contributions("分值30：", few, "。", 1000) == "分值30：gas_over_limit×2；complaints×1.5。"
    many = [{"indicator": f"office_indicator_with_a_long_code_{k:03d}", "count": k} for k in range(200)]
    text = with_contributions("风险预警（红级）：", many, "。请核查处置。", 1000)
    assert len(text) == 1000 and text.startswith("风险预警（红级）：office_indicator")
    assert text.endswith("…。请核查处置。")
