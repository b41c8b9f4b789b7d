"""Deadlines in working days (工作日): handling limits per urgency, channel and category, chasers and escalations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from jsp_common.clock import TZ, as_local
from jsp_common.workdays import WorkCalendar

ANY_CHANNEL = "*"
ANY_CATEGORY = "*"   # a general policy, for every category


def handling_workdays(policies: dict[tuple[str, str, str], int], channel: str, urgency: str, category: str | None,
                      fallback: int) -> int:
    """The handling limit of a clue from ``policies`` ((channel, urgency, category) -> working days): the most
    specific policy for its urgency wins. One naming its category (the order type as its sender names it, e.g.
    an inquiry 咨询 or a complaint 投诉) wins over the general ones (category ``*``); among either, a channel's own
    row wins over the ``*`` row; ``fallback`` when none fits."""
    keys = [(channel, urgency, category), (ANY_CHANNEL, urgency, category)] if category else []
    keys += [(channel, urgency, ANY_CATEGORY), (ANY_CHANNEL, urgency, ANY_CATEGORY)]
    return next((policies[k] for k in keys if k in policies), fallback)


def handling_deadline(calendar: WorkCalendar, received_at: datetime, workdays: int) -> datetime:
    """End of the n-th working day after receipt (the receipt day does not count)."""
    return calendar.add_workdays(received_at, workdays)


@dataclass(frozen=True)
class Deadline:
    """A deadline in working days (the handling deadline, the return window, a case transfer's approval and police
    decision): ``workdays`` working days after ``start``; provisional when counted through a year whose holiday
    schedule is not published yet (Monday to Friday there)."""

    at: datetime
    start: datetime
    workdays: int
    provisional: bool

    def columns(self, name: str = "deadline") -> dict:
        """Its row's columns: ``name`` (the moment), ``<name>_from``, ``<name>_workdays``, ``<name>_provisional``."""
        return {name: self.at, f"{name}_from": self.start, f"{name}_workdays": self.workdays,
                f"{name}_provisional": self.provisional}


def unset(name: str = "deadline") -> dict:
    """The columns of a deadline ``name`` not started (:meth:`Deadline.columns`)."""
    return {name: None, f"{name}_from": None, f"{name}_workdays": None, f"{name}_provisional": False}


def kept(row: dict, name: str = "deadline") -> Deadline | None:
    """The deadline ``name`` of a row as counted (:meth:`Deadline.columns`); None when its count was not kept (a
    row from before it was, or one whose deadline never started)."""
    if row[f"{name}_from"] is None or row[name] is None:
        return None
    return Deadline(row[name], row[f"{name}_from"], row[f"{name}_workdays"], row[f"{name}_provisional"])


def counted(calendar: WorkCalendar, start: datetime, workdays: int) -> Deadline:
    at = calendar.add_workdays(start, workdays)
    return Deadline(at, start, workdays, calendar.is_provisional(start, at))


def extended(calendar: WorkCalendar, current: Deadline, workdays: int) -> Deadline:
    """``current`` moved by an approved extension of ``workdays`` working days."""
    return counted(calendar, current.start, current.workdays + workdays)


# The extensions a clue's limit counts: those granted and the one waiting for the office's decision.
COUNTED_EXTENSIONS = frozenset({"approved", "pending"})


def extension_workdays_left(extensions: list[dict], since: datetime | None, limit: int) -> int:
    """The working days a clue's handling deadline may still be extended by: ``limit`` is the total of its
    extensions, not of each one, less the working days of those approved or pending (``status``, ``workdays``)
    that were asked (``requested_at``) since ``since``, the start its deadline is counted from now (a reopened
    clue's new deadline may be extended afresh; every extension counts when the start was not kept)."""
    used = sum(e["workdays"] for e in extensions
               if e["status"] in COUNTED_EXTENSIONS and (since is None or e["requested_at"] >= since))
    return max(limit - used, 0)


def recount(calendar: WorkCalendar, current: Deadline) -> Deadline | None:
    """``current`` counted again with the calendar as it is now; None when neither the date nor its being
    provisional changes."""
    again = counted(calendar, current.start, current.workdays)
    return None if (again.at, again.provisional) == (current.at, current.provisional) else again


@dataclass(frozen=True)
class Chase:
    """A chaser (催办) is owed: the deadline passed ``overdue_workdays`` working days ago."""
    overdue_workdays: int


@dataclass(frozen=True)
class Escalate:
    """An escalation (督办) is owed: the clue is still open after its chaser, ``overdue_workdays`` past the deadline."""
    overdue_workdays: int


def due_action(calendar: WorkCalendar, now: datetime, deadline: datetime, *, chased_at: datetime | None,
               escalated: bool, chase_after: int, escalate_after: int) -> Chase | Escalate | None:
    """What the periodic scan owes a clue now. Nothing before its deadline has passed. Then a chaser (催办) once
    ``chase_after`` working days have begun since the deadline's day (1: from the start of the first working day
    after the day the deadline ended; 0: as soon as it passed), and an escalation (督办) once ``escalate_after``
    working days have begun since the day the chaser was sent (``chased_at``), counted from the chaser, not from
    the deadline: a clue chased late still has those days to answer it. Working days as :meth:`workdays_between`
    counts them (a weekend or a holiday after the deadline does not count)."""
    if escalated or now <= deadline:
        return None
    overdue = calendar.workdays_between(deadline, now)
    if chased_at is None:
        return Chase(overdue) if overdue >= chase_after else None
    return Escalate(overdue) if calendar.workdays_between(chased_at, now) >= escalate_after else None


def due_if_before(calendar: WorkCalendar, now: datetime, workdays: int) -> datetime:
    """The moment a deadline (or a chaser) must be before for ``workdays`` working days to have begun since its day
    by ``now``, as :func:`due_action` counts them: the start of the ``workdays``-th working day back from ``now``'s
    day (that day included when it is a working day); ``now`` itself for 0. For the database to select exactly the
    clues something is owed to."""
    if workdays <= 0:
        return now
    return day_start(calendar.add_workdays(as_local(now).date() + timedelta(days=1), -workdays))


def day_start(day: date) -> datetime:
    """00:00 of ``day`` in Asia/Shanghai."""
    return datetime.combine(day, time(0), tzinfo=TZ)
