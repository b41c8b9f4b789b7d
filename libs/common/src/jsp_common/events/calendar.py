"""Reference data every service shares: the official working-day schedule of a year.

* ``reference.workday-schedule.published.v1`` on ``reference.workday-schedules.v1`` (compacted, keyed by the
  year): the holiday schedule (节假日安排) of one year as the office uploaded or corrected it, with the notice
  it comes from. The newest revision of a year replaces the ones before. Every service that counts working
  days reads the whole topic when it starts and follows it, so a schedule reaches all of them without a
  restart.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field, model_validator

from .. import holidays
from .base import EventData, event


@event("reference.workday-schedule.published.v1")
class WorkdaySchedulePublished(EventData):
    """The official holiday schedule of one year (holidays and make-up working days)."""

    year: int = Field(ge=2000, le=2100)
    holidays: list[date] = Field(min_length=1, max_length=366,
                                 description="days off, the weekends inside holiday periods included")
    makeup_workdays: list[date] = Field(default_factory=list, max_length=366,
                                        description="Saturdays and Sundays that are working days (调休上班)")
    notice: str = Field("", max_length=500, description="the notice the schedule comes from, e.g. 国办发明电〔2026〕")
    revision: int = Field(ge=1, description="rises with every correction of the year; the highest one counts")
    published_at: datetime
    published_by: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _plausible(self) -> "WorkdaySchedulePublished":
        errors = holidays.check(self.year, self.holidays, self.makeup_workdays)
        if errors:
            raise ValueError("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        return self

    def schedule(self) -> holidays.YearSchedule:
        return holidays.YearSchedule(self.year, frozenset(self.holidays), frozenset(self.makeup_workdays),
                                     self.notice, self.revision)
