"""Keeps a service's working-day calendar up to date from ``reference.workday-schedules.v1``.

The topic is compacted reference data, read whole by every replica of every service that counts working
days (no consumer group, nothing committed): at start the feed reads it from the beginning to the end
offsets it found, so the service counts with every published schedule before it takes any work, and then
follows it. Each new schedule (or revision) is applied to the calendar in memory, and the service's
``on_change`` hook gets the schedules that changed and, per year, the span of the days they moved (turned from
working days to days off or back), so it can count its deadlines again. A hook that fails is tried again until it
succeeds: a recomputation must not be skipped. At start, after reading the topic, the hook also gets the years
from last year on that the installed ``chinese_calendar`` knows and no published schedule covers (as schedules of
revision 0): deadlines counted while an older package did not know a year are counted again once a release with a
newer one is deployed (the package is refreshed each year once the next year's schedule is out).

A hook counts its open deadlines again with :func:`recount_deadlines` (page by page, each page in a transaction of
its own, one :class:`Recount` after the other for a service that keeps several kinds): the provisional ones, and
those counted through a moved day (a correction, or a schedule that differs from what the calendar knew of its
year). It gives :func:`describe` as the reason it records and announces. The
service's database keeps the schedules its deadlines were last counted with (:func:`counted_schedules_table`):
measured against those, a schedule read again at every start moves nothing, and one published while the service
was away moves the days it changed since, whatever the topic still holds. A schedule the running feed applies
(after its start) moves the days it moved in this process's calendar whatever the record says (:class:`MovedHere`):
another replica, its feed a moment ahead, may have counted with it and recorded it while this one still counted
with the revision before; and the recount waits for this process's transactions under way when it was applied.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Awaitable, Callable, Sequence

import chinese_calendar
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from sqlalchemy import (Column, Date, DateTime, Integer, MetaData, Table, and_, false, or_, select)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.sql.elements import ColumnElement

from . import clock
from .offsets import assign_all
from .db import Database
from .envelope import Envelope, EnvelopeError
from .events.calendar import WorkdaySchedulePublished
from .holidays import YearSchedule
from .logs import get_logger
from .outbox import SessionTx
from .tasks import cancel_until_done
from .topics import WORKDAY_SCHEDULES
from .workdays import WorkCalendar

log = get_logger(__name__)

Moved = tuple[tuple[date, date], ...]  # per year, the first and the last day a schedule moved


class MovedHere(tuple):
    """:data:`Moved` as the running feed gives it for a schedule it applied after its start: the days this
    process's own calendar moved, through which it may have counted deadlines with the schedule it replaced, even
    after another replica recorded the new one as counted with (its feed a moment ahead)."""


OnChange = Callable[[list[YearSchedule], Moved], Awaitable[None]]


def describe(schedules: Sequence[YearSchedule]) -> str:
    """Why deadlines moved, as recorded on an item's history and announced with the change."""
    published = [f"{s.year} (revision {s.revision}{', ' + s.notice if s.notice else ''})"
                 for s in schedules if s.revision]
    packaged = [str(s.year) for s in schedules if not s.revision]
    parts = []
    if published:
        parts.append("holiday schedule published: " + ", ".join(published))
    if packaged:
        parts.append(f"holiday schedule of {', '.join(packaged)} in the packaged calendar data")
    return "; ".join(parts)


def packaged_schedule(year: int) -> YearSchedule:
    """``year``'s holidays and make-up working days as the installed ``chinese_calendar`` has them, as a schedule
    of revision 0 (below any published one)."""
    first = date(year, 1, 1)
    days = [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]
    return YearSchedule(year, frozenset(d for d in days if d.weekday() < 5 and not chinese_calendar.is_workday(d)),
                        frozenset(d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)),
                        notice="chinese_calendar", revision=0)


def _digest(schedule: YearSchedule) -> str:
    days = ",".join(d.isoformat() for d in sorted(schedule.holidays | schedule.makeup_workdays))
    return hashlib.sha256(days.encode()).hexdigest()[:12]


def counted_schedules_table(metadata: MetaData) -> Table:
    """The holiday schedules a service's deadlines were last counted with, one row a year, in ``metadata`` (a
    service's tables)."""
    return Table("counted_schedules", metadata,
                 Column("year", Integer, primary_key=True),
                 Column("revision", Integer, nullable=False),
                 Column("holidays", ARRAY(Date), nullable=False),
                 Column("makeup_workdays", ARRAY(Date), nullable=False),
                 Column("counted_at", DateTime(timezone=True), nullable=False))


_COUNTED = counted_schedules_table(MetaData())


async def _moved_since_counted(db: Database, schedules: Sequence[YearSchedule], moved: Moved) -> Moved:
    """The spans to count again: per year, the days each schedule moved against the one the service's deadlines
    were last counted with (none for the same revision); ``moved``'s span of a year never counted, and of every
    year when this process's calendar moved it (:class:`MovedHere`)."""
    async with db.transaction() as session:
        rows = (await session.execute(select(_COUNTED).where(
            _COUNTED.c.year.in_([s.year for s in schedules])))).mappings().all()
    counted = {r["year"]: YearSchedule(r["year"], frozenset(r["holidays"]), frozenset(r["makeup_workdays"]),
                                       revision=r["revision"]) for r in rows}
    spans = []
    for s in schedules:
        if s.year not in counted or isinstance(moved, MovedHere):
            spans += [span for span in moved if span[0].year == s.year]
        if s.year in counted and (days := s.days_differing(counted[s.year])):  # a revision, or newer packaged data
            spans.append((days[0], days[-1]))
    return tuple(dict.fromkeys(spans))


async def _record_counted(db: Database, schedules: Sequence[YearSchedule], now: datetime) -> None:
    rows = [{"year": s.year, "revision": s.revision, "holidays": sorted(s.holidays),
             "makeup_workdays": sorted(s.makeup_workdays), "counted_at": now} for s in schedules]
    async with db.transaction() as session:
        stmt = insert(_COUNTED).values(rows)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[_COUNTED.c.year], set_={k: stmt.excluded[k] for k in rows[0] if k != "year"},
            where=_COUNTED.c.revision <= stmt.excluded.revision))


def counted_through(start: Any, end: Any, moved: Moved) -> ColumnElement[bool]:
    """SQL: a deadline counted from ``start`` to ``end`` (columns of a date or a time) runs through a span of
    ``moved``: it may count otherwise now."""
    def bound(day: date) -> Any:
        return day if start.type.python_type is date else datetime.combine(day, time(0), clock.TZ)
    return or_(false(), *(and_(start < bound(last + timedelta(days=1)), end >= bound(first))
                          for first, last in moved))


@dataclass(frozen=True)
class Recount:
    """One kind of a service's deadlines, counted again by :func:`recount_deadlines`: ``fetch(session, after=...,
    limit=..., moved=...)`` gives the next rows (locked) in key order after ``after``, those provisional or counted
    through a span of ``moved`` (see :func:`counted_through`); ``recount(tx, row, reason=..., now=...)`` writes and
    announces a change through the transaction (``reason``: :func:`describe` of the schedules, recorded and
    announced) and returns how many of the row's deadlines changed (0 when none); ``after_of(row)`` is a row's key,
    unique among every kind's; ``what`` names them in the log."""

    what: str
    fetch: Callable[..., Awaitable[list[dict[str, Any]]]]
    recount: Callable[..., Awaitable[int]]
    after_of: Callable[[dict[str, Any]], tuple]


async def recount_deadlines(db: Database, source: str, schedules: Sequence[YearSchedule], moved: Moved,
                            kinds: Sequence[Recount], *, batch: int, calendar: WorkCalendar,
                            now: datetime | None = None) -> int:
    """Every open deadline of each of ``kinds`` that is provisional or counted through a span of ``moved`` counted
    again after ``schedules`` were published, ``batch`` rows a transaction, one kind after the other. A row's
    events take ids derived from its key and the revisions of the schedules the ``calendar`` counts with
    (``SessionTx.caused_by``): counted again with them on a restored database, the change is announced under the
    ids it first had; a later revision's change gets new ones. Logs how many of each kind changed and returns
    their sum. ``moved`` is narrowed to what changed since the service's deadlines were last counted (but not when
    the running feed moved it: :class:`MovedHere`, whose recount first waits for the transactions under way,
    which may have counted with the schedule it replaced), and the schedules are recorded as counted with once
    every kind is."""
    now, reason = now or clock.now(), describe(schedules)
    if isinstance(moved, MovedHere):
        await db.earlier_transactions_ended()
    moved = await _moved_since_counted(db, schedules, moved)
    # the packaged data's years by their content: a later release that changes a year announces under new ids
    revisions = calendar.revisions() + tuple(f"{s.year}.packaged.{_digest(s)}" for s in schedules if s.revision == 0)
    total = 0
    for kind in kinds:
        changed, after = 0, None
        while True:
            async with db.transaction() as session:
                tx = SessionTx(session, source)
                rows = await kind.fetch(session, after=after, limit=batch, moved=moved)
                for row in rows:
                    changed += await kind.recount(tx.caused_by("provisional-deadline", *kind.after_of(row),
                                                               *revisions), row, reason=reason, now=now)
            if len(rows) < batch:
                break
            after = kind.after_of(rows[-1])
        if changed:
            log.info(f"{kind.what} recomputed", count=changed, years=[s.year for s in schedules])
        total += changed
    if schedules:
        await _record_counted(db, schedules, now)
    return total


def decode(raw: bytes | None) -> YearSchedule | None:
    """The schedule a record carries, or None (logged) for a record that is not one."""
    try:
        env = Envelope.from_bytes(raw)
        if env.type != WorkdaySchedulePublished.event_type:
            raise EnvelopeError(f"unexpected event type {env.type!r}")
        return WorkdaySchedulePublished.model_validate(env.data).schedule()
    except (EnvelopeError, ValidationError) as exc:
        log.error("ignored a record on the working-day schedule topic", error=str(exc))
        return None


class ScheduleFeed:
    def __init__(self, calendar: WorkCalendar, *, on_change: OnChange | None = None, retry_s: float = 5.0,
                 **client_options) -> None:
        self.calendar, self.on_change, self.retry_s = calendar, on_change, retry_s
        self._options = client_options
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self, timeout_s: float = 60.0) -> None:
        """Read every published schedule (up to the end offsets now), then keep following the topic."""
        self._consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                                          **self._options)
        await self._consumer.start()
        tps = await assign_all(self._consumer, [WORKDAY_SCHEDULES])
        await self._consumer.seek_to_beginning(*tps)
        ends = await self._consumer.end_offsets(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not await self._caught_up(ends):
            if loop.time() > deadline:
                log.warning("working-day schedules not read to the end in time; continuing in the background")
                break
            await self._apply(await self._consumer.getmany(timeout_ms=500), started=False)
        else:  # every published schedule read: a year none covers is the packaged data's (not one still unread)
            await self._count_with_packaged_years()
        self._task = asyncio.create_task(self._follow(), name="workday-schedule-feed")

    async def _count_with_packaged_years(self) -> None:
        """The years from last year on that the installed ``chinese_calendar`` knows and no published schedule
        covers, given to the hook like published schedules: a deadline counted while the package did not know its
        year (provisional) is counted again once a release that knows it is deployed, and one counted through a
        day a newer release moved is counted again; data counted with before moves nothing."""
        this_year = clock.now().astimezone(clock.TZ).year
        years = [y for y in range(this_year - 1, this_year + 3)
                 if self.calendar.schedule_of(y) is None and WorkCalendar.has_official_data(y)]
        if years and self.on_change is not None:
            await self._changed([packaged_schedule(y) for y in years], ())

    async def _caught_up(self, ends: dict) -> bool:
        assert self._consumer is not None
        for tp, end in ends.items():
            if await self._consumer.position(tp) < end:
                return False
        return True

    async def _follow(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                await self._apply(await self._consumer.getmany(timeout_ms=1000), started=True)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the broker may be away; the consumer reconnects
                log.exception("reading the working-day schedules failed; retrying")
                await asyncio.sleep(self.retry_s)

    async def _apply(self, batches: dict, *, started: bool) -> None:
        """The schedules of ``batches`` applied and given to the hook; ``started``: the service may have counted
        deadlines with the calendar before (the days moved are :class:`MovedHere`)."""
        changed: dict[int, YearSchedule] = {}
        moved: dict[int, list[date]] = {}
        for records in batches.values():
            for record in records:
                schedule = decode(record.value)
                if schedule is None:
                    continue
                days = self.calendar.days_moved_by(schedule)
                if self.calendar.apply(schedule):
                    changed[schedule.year] = schedule
                    moved.setdefault(schedule.year, []).extend(days)
                    log.info("working-day schedule applied", year=schedule.year, revision=schedule.revision,
                             days_moved=len(days))
        if changed and self.on_change is not None:
            spans = tuple((min(days), max(days)) for _, days in sorted(moved.items()) if days)
            await self._changed(sorted(changed.values(), key=lambda s: s.year), MovedHere(spans) if started else spans)

    async def _changed(self, schedules: list[YearSchedule], spans: Moved) -> None:
        """The hook, tried until it succeeds."""
        assert self.on_change is not None
        while True:
            try:
                await self.on_change(schedules, spans)
                break
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - e.g. the database is away: the recomputation must happen
                log.exception("recomputing deadlines after a schedule change failed; retrying")
                await asyncio.sleep(self.retry_s)

    async def stop(self) -> None:
        await cancel_until_done(self._task)
        if self._consumer is not None:
            await self._consumer.stop()


async def read_once(calendar: WorkCalendar, **client_options) -> None:
    """For a one-off command (a full re-scoring, say): every published schedule read into ``calendar``, as a running
    service reads them before it takes any work, without following the topic or counting deadlines again."""
    feed = ScheduleFeed(calendar, **client_options)
    try:
        await feed.start()
    finally:
        await feed.stop()
