"""The working-day schedule (节假日安排) as data the office maintains: upload a year's schedule, correct a day,
see which years are known. Each change is kept here and published on ``reference.workday-schedules.v1``
(through the caller's transaction), from where every service that counts working days applies it without a
restart and recomputes its provisional deadlines."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, holidays, topics
from jsp_common.events.calendar import WorkdaySchedulePublished
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem
from jsp_common.workdays import WorkCalendar

from ..adapters import schedules


def _refused(exc: holidays.InvalidSchedule) -> Problem:
    return Problem(422, "the schedule cannot be used: " + str(exc), errors=exc.errors)


async def _publish(tx: Transaction, schedule: holidays.YearSchedule, principal: Principal, now: datetime
                   ) -> dict[str, Any]:
    row = {"year": schedule.year, "holidays": sorted(schedule.holidays),
           "makeup_workdays": sorted(schedule.makeup_workdays), "notice": schedule.notice,
           "revision": schedule.revision, "updated_at": now, "updated_by": principal.subject}
    await schedules.save(tx.session, row)
    await tx.emit(topics.WORKDAY_SCHEDULES, WorkdaySchedulePublished(
        year=schedule.year, holidays=row["holidays"], makeup_workdays=row["makeup_workdays"], notice=schedule.notice,
        revision=schedule.revision, published_at=now, published_by=principal.subject), key=str(schedule.year))
    return row


async def upload_year(tx: Transaction, principal: Principal, year: int, *, holidays_: list[date],
                      makeup_workdays: list[date], notice: str) -> tuple[dict[str, Any], bool]:
    """Publish ``year``'s schedule (replacing an earlier upload as its next revision). Returns (row, created)."""
    held = await schedules.one(tx.session, year, lock=True)
    try:
        schedule = holidays.schedule(year, holidays_, makeup_workdays, notice=notice,
                                     revision=(held["revision"] + 1) if held else 1)
    except holidays.InvalidSchedule as exc:
        raise _refused(exc) from None
    return await _publish(tx, schedule, principal, clock.now()), held is None


async def correct_day(tx: Transaction, principal: Principal, day: date, *, is_workday: bool) -> dict[str, Any]:
    """Make ``day`` a working day or a day off in its year's published schedule (the next revision)."""
    held = await schedules.one(tx.session, day.year, lock=True)
    if held is None:
        raise Problem(409, f"no schedule of {day.year} has been uploaded; upload the year's schedule first "
                           f"(PUT /calendar/years/{day.year})")
    try:
        schedule = holidays.with_day(_schedule_of(held), day, is_workday)
    except holidays.InvalidSchedule as exc:
        raise _refused(exc) from None
    return await _publish(tx, schedule, principal, clock.now())


def _schedule_of(row: dict[str, Any]) -> holidays.YearSchedule:
    return holidays.YearSchedule(row["year"], frozenset(row["holidays"]), frozenset(row["makeup_workdays"]),
                                 row["notice"], row["revision"])


async def year(session: AsyncSession, year: int) -> dict[str, Any]:
    row = await schedules.one(session, year)
    if row is None:
        raise Problem(404, f"no schedule of {year} has been uploaded")
    return row


async def coverage(session: AsyncSession, *, today: date, warn_days: int) -> dict[str, Any]:
    """Which years' schedules are known (uploaded here, or shipped with the calendar library), until when
    deadlines are final, and the warning the office must act on when that is less than ``warn_days`` ahead."""
    rows = await schedules.every(session)
    calendar = WorkCalendar()
    for row in rows:
        calendar.apply(_schedule_of(row))
    until = calendar.known_until(today)
    uploaded = {r["year"]: r for r in rows}
    years = sorted(set(uploaded) | {y for y in range(today.year - 1, until.year + 2) if calendar.is_known(y)}
                   | {until.year + 1})
    warning = None
    if (until - today).days < warn_days:
        warning = (f"the holiday schedule is known only until {until.isoformat()}: deadlines after it are provisional "
                   f"and count Monday to Friday; upload the {until.year + 1} schedule (PUT /calendar/years/{until.year + 1})")
    return {"known_until": until, "warning": warning, "years": [
        {"year": y, "source": "uploaded" if y in uploaded else "library" if calendar.is_known(y) else "unknown",
         "revision": uploaded[y]["revision"] if y in uploaded else None,
         "notice": uploaded[y]["notice"] if y in uploaded else None,
         "updated_at": uploaded[y]["updated_at"] if y in uploaded else None,
         "updated_by": uploaded[y]["updated_by"] if y in uploaded else None} for y in years]}
