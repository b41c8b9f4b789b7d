"""When alerts are raised, kept, suppressed by the cool-down, closed, and escalated."""

from datetime import date, datetime, timedelta

from jsp_common import clock
from jsp_common.events.risk import WarningLevel as L
from jsp_common.workdays import WorkCalendar
from risk.domain.alerts import Close, Keep, LastAlert, OpenAlert, Raise, Suppressed, decide, overdue, respond_by

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
    assert d(L.YELLOW, 50, last=last) == Raise(L.YELLOW)               # higher than then
    assert d(L.YELLOW, 45, last=last, cooldown=2) == Raise(L.YELLOW)  # cool-down over
    assert d(L.ORANGE, 61, last=last) == Raise(L.ORANGE)              # another level


def test_response_deadline_in_hours_or_working_days(starter):
    cal = WorkCalendar({date(2026, 3, 3): False})  # a holiday on Tuesday
    assert respond_by(starter.plan(L.RED), NOW, cal) == NOW + timedelta(hours=24)
    by = respond_by(starter.plan(L.ORANGE), NOW, cal)  # 2 working days, Tuesday off
    assert clock.as_local(by).date() == date(2026, 3, 5)


def test_only_unanswered_alerts_past_their_deadline_escalate_once():
    past, future = NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)
    assert overdue(state="open", escalate=True, respond_by_at=past, escalated_at=None, now=NOW)
    assert overdue(state="acknowledged", escalate=True, respond_by_at=past, escalated_at=None, now=NOW)
    assert not overdue(state="responded", escalate=True, respond_by_at=past, escalated_at=None, now=NOW)
    assert not overdue(state="open", escalate=True, respond_by_at=future, escalated_at=None, now=NOW)
    assert not overdue(state="open", escalate=False, respond_by_at=past, escalated_at=None, now=NOW)
    assert not overdue(state="open", escalate=True, respond_by_at=past, escalated_at=past, now=NOW)
