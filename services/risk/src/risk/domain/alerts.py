"""When an entity's new assessment raises, keeps, suppresses or closes a risk alert (pure).

* An entity has at most one open alert. Crossing into a higher level raises a new alert (the lower one is
  closed as superseded); the same level keeps the open alert.
* A falling score closes the alert: below the alert's level, it ends (``score_fell``). No new alert is raised
  for a lower level on the way down: the departments already act on the higher one.
* Cool-down: the same entity and level do not alert again within ``cooldown_hours`` of the last alert at
  that level, unless the score is higher than the score that alert was raised at (not its latest: re-scored at
  its level, an open alert's score moves). The alert held back is raised when the cool-down
  ends (``Suppressed.until``) if the level still holds then.
* Escalation: an alert whose level's plan escalates, with no response recorded by its deadline, goes to the
  office once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jsp_common.events.risk import WarningLevel
from jsp_common.workdays import WorkCalendar

from .model import ResponsePlan, rank


@dataclass(frozen=True)
class OpenAlert:
    id: str
    level: WarningLevel
    score: float


@dataclass(frozen=True)
class LastAlert:
    """The latest alert of an entity at one level (open or closed), with the score it was raised at."""

    level: WarningLevel
    raised_at: datetime
    raised_score: float


@dataclass(frozen=True)
class Raise:
    level: WarningLevel
    supersedes: OpenAlert | None = None


@dataclass(frozen=True)
class Close:
    alert: OpenAlert
    reason: str = "score_fell"


@dataclass(frozen=True)
class Suppressed:
    level: WarningLevel
    reason: str
    until: datetime  # when the cool-down ends: the alert is raised then if the level still holds


@dataclass(frozen=True)
class Keep:
    pass


Decision = Raise | Close | Suppressed | Keep


def decide(*, level: WarningLevel | None, score: float, open_alert: OpenAlert | None,
           last_at_level: LastAlert | None, now: datetime, cooldown_hours: float) -> Decision:
    """What the new assessment (``level``, ``score``) means for the entity's alerts."""
    if open_alert is not None:
        if rank(level) < rank(open_alert.level):
            return Close(open_alert, "score_fell")
        if rank(level) == rank(open_alert.level):
            return Keep()
    if level is None:
        return Keep()
    if last_at_level is not None and last_at_level.level == level:
        until = last_at_level.raised_at + timedelta(hours=cooldown_hours)
        if now < until and score <= last_at_level.raised_score:
            return Suppressed(level, f"a {level} alert was raised at {last_at_level.raised_at.isoformat()} with "
                                     f"score {last_at_level.raised_score:g}; cool-down {cooldown_hours:g} h", until)
    return Raise(level, supersedes=open_alert)


UNANSWERED = frozenset({"open", "acknowledged"})  # the states an alert's response deadline runs in


@dataclass(frozen=True)
class RespondBy:
    """An alert's response deadline: ``at`` (None: the plan sets none); ``workdays`` when counted in working
    days, then ``provisional`` when counted through a year whose holiday schedule is not published yet."""

    at: datetime | None
    workdays: int | None = None
    provisional: bool = False

    def columns(self) -> dict:
        return {"respond_by": self.at, "respond_within_workdays": self.workdays,
                "respond_by_provisional": self.provisional}


def respond_by(plan: ResponsePlan, raised_at: datetime, calendar: WorkCalendar) -> datetime | None:
    """The response deadline of an alert raised at ``raised_at`` under ``plan``."""
    return response_deadline(plan, raised_at, calendar).at


def response_deadline(plan: ResponsePlan, raised_at: datetime, calendar: WorkCalendar) -> RespondBy:
    """:func:`respond_by` with how it was counted (to count it again when a holiday schedule arrives)."""
    if plan.respond_within_hours:
        return RespondBy(raised_at + timedelta(hours=plan.respond_within_hours))
    if plan.respond_within_workdays:
        return counted(calendar, raised_at, plan.respond_within_workdays)
    return RespondBy(None)


def counted(calendar: WorkCalendar, raised_at: datetime, workdays: int) -> RespondBy:
    at = calendar.add_workdays(raised_at, workdays)
    return RespondBy(at, workdays, calendar.is_provisional(raised_at, at))


def recount(calendar: WorkCalendar, raised_at: datetime, current: RespondBy) -> RespondBy | None:
    """A working-day deadline counted again with the calendar as it is now; None when nothing changes (same
    time, still provisional) or it is not counted in working days."""
    if current.workdays is None or current.at is None:
        return None
    again = counted(calendar, raised_at, current.workdays)
    return None if (again.at, again.provisional) == (current.at, current.provisional) else again


def overdue(*, state: str, escalate: bool, respond_by_at: datetime | None, escalated_at: datetime | None,
            now: datetime) -> bool:
    """Whether an alert escalates now: its plan escalates, no response yet, deadline passed, not escalated."""
    return (escalate and respond_by_at is not None and escalated_at is None and state in UNANSWERED
            and now > respond_by_at)


def with_contributions(head: str, contributions: list[dict], tail: str, limit: int) -> str:
    """``head``, then the contributions as indicator×count, then ``tail``, in at most ``limit`` characters (a model
    may have many indicators contributing at once: the list is cut short with …, the head and tail kept)."""
    listed = "；".join(f"{c['indicator']}×{c['count']:g}" for c in contributions)
    room = limit - len(head) - len(tail)
    if len(listed) > room:
        listed = listed[:max(room - 1, 0)] + "…"
    return head + listed + tail
