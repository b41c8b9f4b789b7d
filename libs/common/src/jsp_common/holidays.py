"""A year's official holiday schedule (节假日安排) as data: checked, and applied to the working-day calendar.

The State Council publishes each year's schedule late in the year before: the holiday periods (days off,
including the weekends inside them) and the make-up working days (调休上班, always a Saturday or Sunday).
The office uploads it; every service that counts working days receives it on the compacted reference topic
``reference.workday-schedules.v1`` and applies it without a restart (:mod:`jsp_common.schedule_feed`).

A day of a year with a schedule is a working day if it is a make-up working day, or a Monday to Friday that
is not a holiday. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class YearSchedule:
    year: int
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    notice: str = ""
    revision: int = 1

    def is_workday(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def days_differing(self, other: "YearSchedule") -> list[date]:
        """The days of the year that are working days in one schedule and days off in the other."""
        return sorted(d for d in self.holidays ^ other.holidays | self.makeup_workdays ^ other.makeup_workdays
                      if self.is_workday(d) != other.is_workday(d))


class InvalidSchedule(ValueError):
    """The schedule cannot be applied; ``errors`` are field-level reasons (``field``, ``reason``)."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        self.errors = errors


def check(year: int, holidays: list[date], makeup_workdays: list[date]) -> list[dict[str, str]]:
    """Field-level reasons why this is not a plausible schedule of ``year`` (empty when it is)."""
    errors: list[dict[str, str]] = []
    if not holidays:
        errors.append({"field": "holidays", "reason": f"a schedule of {year} without any holiday is empty"})
    both = Counter(holidays) + Counter(makeup_workdays)
    for field, days in (("holidays", holidays), ("makeup_workdays", makeup_workdays)):
        for i, day in enumerate(days):
            where = f"{field}[{i}]"
            if day.year != year:
                errors.append({"field": where, "reason": f"{day.isoformat()} is not in {year}"})
            if both[day] > 1:
                errors.append({"field": where, "reason": f"{day.isoformat()} is listed more than once"})
            if field == "makeup_workdays" and day.weekday() < 5:
                errors.append({"field": where, "reason": f"{day.isoformat()} is a {day.strftime('%A')}: a make-up "
                                                         "working day is always a Saturday or Sunday"})
    return errors


def schedule(year: int, holidays: list[date], makeup_workdays: list[date], *, notice: str = "",
             revision: int = 1) -> YearSchedule:
    """A checked schedule; raises :class:`InvalidSchedule` with every reason at once."""
    errors = check(year, holidays, makeup_workdays)
    if errors:
        raise InvalidSchedule(errors)
    return YearSchedule(year, frozenset(holidays), frozenset(makeup_workdays), notice, revision)


def with_day(current: YearSchedule, day: date, is_workday: bool) -> YearSchedule:
    """``current`` with one day corrected (a working day or not), as the next revision."""
    holidays, makeup = set(current.holidays), set(current.makeup_workdays)
    holidays.discard(day)
    makeup.discard(day)
    weekend = day.weekday() >= 5
    if is_workday and weekend:
        makeup.add(day)
    elif not is_workday and not weekend:
        holidays.add(day)
    return schedule(current.year, sorted(holidays), sorted(makeup), notice=current.notice,
                    revision=current.revision + 1)
