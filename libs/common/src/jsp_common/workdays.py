"""Working-day calendar (工作日) for statutory time limits, in Asia/Shanghai.

Official holidays and make-up working days (调休) come from the schedules the office
publishes (:mod:`jsp_common.holidays`, delivered to every service on the reference
topic ``reference.workday-schedules.v1``) and, for the years it knows, from
``chinese_calendar``. Years known to neither fall back to Monday–Friday: a deadline
counted through such a year is *provisional* (:meth:`WorkCalendar.is_provisional`)
until the year's schedule arrives. Overrides (date → is a working day) win over all;
they can be passed to :class:`WorkCalendar` or read from the CSV at
``$JSP_WORKDAY_OVERRIDES`` (columns ``date,is_workday``, e.g. ``2027-02-08,false``).
An override patches single days: it does not make its year known (the rest of the
year still counts Monday–Friday until the year's schedule is published).

Counting rule ("within n working days of receipt"): the receipt day never
counts; the deadline is the end (23:59:59 Asia/Shanghai) of the n-th working
day after the receipt date. Received on Tue 2025-09-30, 5 working days → end
of 2025-10-14 (Oct 1–8 are holidays, Sat Oct 11 is a make-up working day).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import overload

import chinese_calendar

from jsp_common.clock import TZ, as_local
from jsp_common.holidays import YearSchedule

OVERRIDES_ENV = "JSP_WORKDAY_OVERRIDES"
END_OF_DAY = time(23, 59, 59)
_TRUE = {"1", "true", "yes", "y", "t", "workday"}
_FALSE = {"0", "false", "no", "n", "f", "holiday", "rest"}


def _local_date(value: date | datetime) -> date:
    return as_local(value).date() if isinstance(value, datetime) else value


def deadline_end_of(day: date) -> datetime:
    """The last second of ``day`` in Asia/Shanghai: the deadline moment for that day."""
    return datetime.combine(day, END_OF_DAY, tzinfo=TZ)


def load_overrides(path: str | os.PathLike[str]) -> dict[date, bool]:
    """Read an overrides CSV with columns ``date,is_workday`` (ISO date; true/false or 1/0)."""
    overrides: dict[date, bool] = {}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            flag = (row.get("is_workday") or "").strip().lower()
            if flag not in _TRUE | _FALSE:
                raise ValueError(f"{path}:{line}: is_workday must be true or false, got {flag!r}")
            overrides[date.fromisoformat((row.get("date") or "").strip())] = flag in _TRUE
    return overrides


_KEPT_STEPS = 10_000  # counts kept before they are all forgotten (a few per day of receipt in practice; about 2 MB)


class WorkCalendar:
    """Working days: overrides, then the published year schedules, then ``chinese_calendar``, then
    Monday–Friday for unknown years."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._years: dict[int, YearSchedule] = {}
        self.generation = 0  # rises with every schedule applied: a key for caching what was counted with it
        self._days: dict[date, bool] = {}  # each day's answer, until the next schedule is applied
        self._steps: dict[tuple[date, int], date] = {}  # each count's answer (a deadline per clue), likewise

    def apply(self, schedule: YearSchedule) -> bool:
        """Use ``schedule`` for its year from now on. False (and nothing changes) when the calendar already
        has that revision or a later one of the year."""
        held = self._years.get(schedule.year)
        if held is not None and held.revision >= schedule.revision:
            return False
        self._years[schedule.year] = schedule
        self._days.clear()
        self._steps.clear()
        self.generation += 1
        return True

    def days_moved_by(self, schedule: YearSchedule) -> list[date]:
        """The days of ``schedule``'s year that it turns from working days to days off or back, against the
        calendar as it counts now (an override stands whatever the schedule says)."""
        first = date(schedule.year, 1, 1)
        days = (first + timedelta(days=n) for n in range((date(schedule.year + 1, 1, 1) - first).days))
        return [d for d in days if d not in self._overrides and schedule.is_workday(d) != self.is_workday(d)]

    def revisions(self) -> tuple[str, ...]:
        """The published schedules counted with, as ``<year>.<revision>``, in year order."""
        return tuple(f"{year}.{s.revision}" for year, s in sorted(self._years.items()))

    def schedule_of(self, year: int) -> YearSchedule | None:
        """The published schedule of ``year``, if any."""
        return self._years.get(year)

    def is_known(self, year: int) -> bool:
        """Whether the holiday schedule of ``year`` is known: published, or in ``chinese_calendar``. Overrides of
        single days of the year do not make it known: its other days still count Monday to Friday."""
        return year in self._years or self.has_official_data(year)

    def is_provisional(self, start: date | datetime, deadline: date | datetime) -> bool:
        """Whether a deadline counted from ``start`` to ``deadline`` goes through a year whose schedule is not
        known: it was counted Monday to Friday there and may move once the schedule is published."""
        first, last = _local_date(start), _local_date(deadline)
        return not all(self.is_known(y) for y in range(min(first, last).year, max(first, last).year + 1))

    @staticmethod
    @cache
    def has_official_data(year: int) -> bool:
        """Whether ``chinese_calendar`` knows the holiday schedule of ``year`` (fixed for the installed package)."""
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    def known_until(self, today: date) -> date:
        """The last day of the last year, counting on from ``today``'s, whose holiday schedule is known
        (published or in ``chinese_calendar``; overrides do not count); working days after it are counted as
        Monday–Friday. The day before this year starts when even this year is unknown."""
        year = today.year
        while self.is_known(year):
            year += 1
        return date(year - 1, 12, 31)

    def is_workday(self, day: date | datetime) -> bool:
        """Whether ``day`` (a datetime is taken at its Asia/Shanghai date) is a working day."""
        day = _local_date(day)
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        published = self._years.get(day.year)
        if published is not None:
            return published.is_workday(day)
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return day.weekday() < 5

    def _step(self, day: date, n: int) -> date:
        """The |n|-th working day after (n > 0) or before (n < 0) ``day``; ``day`` itself for 0. Kept: the clues of
        a day are counted from the same few days with the same few numbers of working days."""
        key = (day, n)
        found = self._steps.get(key)
        if found is None:
            if len(self._steps) >= _KEPT_STEPS:
                self._steps.clear()
            found = self._steps[key] = self._walk(day, n)
        return found

    def _walk(self, day: date, n: int) -> date:
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_workday(day):
                remaining -= 1
        return day

    @overload
    def add_workdays(self, start: datetime, n: int) -> datetime: ...
    @overload
    def add_workdays(self, start: date, n: int) -> date: ...

    def add_workdays(self, start: date | datetime, n: int) -> date | datetime:
        """The n-th working day after the receipt ``start``; the receipt day does not count.

        A ``date`` gives a ``date``; a ``datetime`` (naive means Asia/Shanghai)
        gives the deadline moment, 23:59:59 Asia/Shanghai of that day.
        ``n = 0`` is the receipt day itself; a negative ``n`` counts back.
        """
        day = self._step(_local_date(start), n)
        return deadline_end_of(day) if isinstance(start, datetime) else day

    def workdays_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days ``d`` with ``a < d <= b`` (negative if ``b`` is before ``a``).

        The inverse of :meth:`add_workdays`: ``workdays_between(a, add_workdays(a, n)) == n``.
        """
        first, last = _local_date(a), _local_date(b)
        sign = 1
        if last < first:
            first, last, sign = last, first, -1
        count = sum(
            self.is_workday(first + timedelta(days=i)) for i in range(1, (last - first).days + 1)
        )
        return sign * count


@cache
def _overrides_at(path: str | None) -> tuple[tuple[date, bool], ...]:
    return tuple(load_overrides(path).items()) if path else ()


def calendar_with_overrides(path: str | None) -> WorkCalendar:
    """A calendar of its own (published schedules are applied to it as they arrive) with the overrides CSV at
    ``path`` (a service's ``workday_overrides`` setting), if any."""
    return WorkCalendar(dict(_overrides_at(path)))


@cache
def _default_calendar(path: str | None) -> WorkCalendar:
    return calendar_with_overrides(path)


def default_calendar() -> WorkCalendar:
    """The module-level calendar, with overrides from ``$JSP_WORKDAY_OVERRIDES`` if set (one per path)."""
    return _default_calendar(os.environ.get(OVERRIDES_ENV))


def is_workday(day: date | datetime) -> bool:
    """Whether ``day`` is a working day in the default calendar."""
    return default_calendar().is_workday(day)


@overload
def add_workdays(start: datetime, n: int) -> datetime: ...
@overload
def add_workdays(start: date, n: int) -> date: ...


def add_workdays(start: date | datetime, n: int) -> date | datetime:
    """The n-th working day after receipt in the default calendar (see :meth:`WorkCalendar.add_workdays`)."""
    return default_calendar().add_workdays(start, n)


def workdays_between(a: date | datetime, b: date | datetime) -> int:
    """Working days in ``(a, b]`` in the default calendar."""
    return default_calendar().workdays_between(a, b)
