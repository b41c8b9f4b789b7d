"""The working-day schedule (节假日安排): the office uploads each year's schedule and corrects days; the office
and departments see which years are known and until when deadlines are final."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field, StrictBool

from jsp_common import clock
from jsp_common.api_types import Date, Text
from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, Role

from ..usecases import calendar
from .security import require

router = APIRouter(prefix="/calendar", tags=["working-day schedule"])
YEAR = Path(ge=2000, le=2100, description="the calendar year, e.g. 2027")


class ScheduleIn(BaseModel):
    """A year's schedule. Every day lies in the path's year, a make-up working day is a Saturday or Sunday, and
    no day is both a holiday and a make-up day: a schedule that breaks these (which a schema cannot state) is
    refused with 422, every reason named."""

    holidays: list[Date] = Field(min_length=1, max_length=366, json_schema_extra={"uniqueItems": True},
                                 description="days off, the weekends inside holiday periods included")
    makeup_workdays: list[Date] = Field(default_factory=list, max_length=366, json_schema_extra={"uniqueItems": True},
                                        description="Saturdays and Sundays that are working days (调休上班)")
    notice: Text = Field("", max_length=500, description="the notice it comes from, e.g. 国办发明电〔2026〕X号")


class ScheduleOut(BaseModel):
    year: int
    holidays: list[date]
    makeup_workdays: list[date]
    notice: str
    revision: int
    updated_at: datetime
    updated_by: str


class DayIn(BaseModel):
    is_workday: StrictBool = Field(description="true: a working day; false: a day off")


class YearCoverage(BaseModel):
    year: int
    source: Literal["uploaded", "library", "unknown"]
    revision: int | None = None
    notice: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


class Coverage(BaseModel):
    known_until: date = Field(description="deadlines counted past this day are provisional (Monday to Friday)")
    warning: str | None = Field(None, description="set when known_until is fewer than the warning days ahead")
    years: list[YearCoverage]


@router.get("/years", response_model=Coverage, summary="Which years' holiday schedules are known")
async def coverage(request: Request, who: Principal = Depends(require(Role.OFFICE, Role.DEPARTMENT))) -> Coverage:
    async with reading(request) as session:
        got = await calendar.coverage(session, today=clock.today(),
                                      warn_days=deps_of(request).settings.workday_calendar_warn_days)
    return Coverage.model_validate(got)


@router.get("/years/{year}", response_model=ScheduleOut, summary="A year's uploaded schedule",
            responses={404: {"description": "no schedule of that year has been uploaded"}})
async def get_year(request: Request, year: int = YEAR,
                   who: Principal = Depends(require(Role.OFFICE, Role.DEPARTMENT))) -> ScheduleOut:
    async with reading(request) as session:
        return ScheduleOut.model_validate(await calendar.year(session, year))


@router.put("/years/{year}", response_model=ScheduleOut, status_code=200,
            summary="Upload a year's holiday schedule (replaces an earlier upload as its next revision)",
            responses={201: {"model": ScheduleOut, "description": "the year's first upload"},
                       422: {"description": "a date twice, a make-up day that is no Saturday or Sunday, a date "
                                            "outside the year, or no holiday at all"}})
async def upload(request: Request, body: ScheduleIn, response: Response, year: int = YEAR,
                 who: Principal = Depends(require(Role.OFFICE))) -> ScheduleOut:
    async with transaction(request) as tx:
        row, created = await calendar.upload_year(tx, who, year, holidays_=body.holidays,
                                                  makeup_workdays=body.makeup_workdays, notice=body.notice)
    request.state.audit_object = str(year)
    response.status_code = 201 if created else 200
    return ScheduleOut.model_validate(row)


@router.put("/days/{day}", response_model=ScheduleOut, summary="Correct one day of an uploaded year",
            responses={409: {"description": "the day's year has no uploaded schedule"}})
async def correct(request: Request, body: DayIn, day: Date = Path(description="the day, e.g. 2027-02-06"),
                  who: Principal = Depends(require(Role.OFFICE))) -> ScheduleOut:
    async with transaction(request) as tx:
        row = await calendar.correct_day(tx, who, day, is_workday=body.is_workday)
    request.state.audit_object = day.isoformat()
    return ScheduleOut.model_validate(row)
