"""Devices, their open windows and the readings stream's applied offsets (every SQL statement of monitoring)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.db import first_row

from ..domain.windows import Window
from .tables import device_windows, devices, stream_offsets

WINDOW_COLUMNS = tuple(f.name for f in fields(Window))


def _window(row) -> Window:
    w = Window(**{c: row[c] for c in WINDOW_COLUMNS})
    return replace(w, seen=tuple(w.seen))  # an array comes as a list


def _columns(w: Window) -> dict:
    return {c: getattr(w, c) for c in WINDOW_COLUMNS}  # not dataclasses.asdict, which deep-copies every value


async def register_device(session: AsyncSession, *, device_id: str, uscc: str, metric: str, by: str) -> dict:
    """Register (or re-register) a device. Its open window is dropped only when its entity or metric changes: the
    same registration sent again keeps what the window counted (readings, excursions, the last clue)."""
    before = await first_row(session, select(devices).where(devices.c.device_id == device_id), for_update=True)
    stmt = pg_insert(devices).values(device_id=device_id, uscc=uscc, metric=metric, registered_by=by)
    stmt = stmt.on_conflict_do_update(index_elements=[devices.c.device_id], set_={
        "uscc": stmt.excluded.uscc, "metric": stmt.excluded.metric, "registered_by": stmt.excluded.registered_by,
        "registered_at": stmt.excluded.registered_at})
    row = (await session.execute(stmt.returning(devices))).mappings().one()
    if before is None or (before["uscc"], before["metric"]) != (uscc, metric):
        await session.execute(device_windows.delete().where(device_windows.c.device_id == device_id))
    return dict(row)


async def device(session: AsyncSession, device_id: str) -> dict | None:
    return await first_row(session, select(devices).where(devices.c.device_id == device_id))


async def devices_with_windows(session: AsyncSession, device_ids: list[str]) -> dict[str, tuple[dict, Window | None]]:
    """The registration and open window of each device named (unknown devices are absent); windows locked."""
    q = (select(devices, *(device_windows.c[c].label(f"w_{c}") for c in WINDOW_COLUMNS))
         .select_from(devices.outerjoin(device_windows, device_windows.c.device_id == devices.c.device_id))
         .where(devices.c.device_id.in_(device_ids)).with_for_update(of=devices))
    out: dict[str, tuple[dict, Window | None]] = {}
    for r in (await session.execute(q)).mappings():
        reg = {c.name: r[c.name] for c in devices.c}
        win = _window({c: r[f"w_{c}"] for c in WINDOW_COLUMNS}) if r["w_start"] is not None else None
        out[reg["device_id"]] = (reg, win)
    return out


async def save_windows(session: AsyncSession,
                       windows: list[tuple[Window, datetime | None, datetime | None, int | None]]) -> None:
    """Write the open windows of the devices a poll touched, each with when it is due, when its device counts
    as silent and the partition its readings come on: one statement."""
    if not windows:
        return
    stmt = pg_insert(device_windows).values([{**_columns(w), "due_at": due, "silent_at": silent, "partition": part}
                                             for w, due, silent, part in windows])
    stmt = stmt.on_conflict_do_update(index_elements=[device_windows.c.device_id], set_={
        c: stmt.excluded[c] for c in (*WINDOW_COLUMNS, "due_at", "silent_at") if c != "device_id"} | {
        "partition": func.coalesce(stmt.excluded.partition, device_windows.c.partition)})
    await session.execute(stmt)


async def windows_to_check(session: AsyncSession, group: str, topic: str, grace_s: float, limit: int,
                           metrics: list[str]) -> list[tuple[dict, Window, datetime]]:
    """Windows of quiet devices that are due, and devices gone silent, by the event time of their partition (its
    watermark, the latest reading applied there, minus ``grace_s``), never by the wall clock: after a crash the
    backlog's readings come first. Only devices of ``metrics`` (the model in force's): a window of a metric the
    model dropped cannot be judged, and picked again round after round it would fill the batch. With their
    registration and the watermark; locked, skipping those a consumer is updating."""
    mark = stream_offsets.c.watermark
    q = (select(devices, mark.label("watermark"), *(device_windows.c[c].label(f"w_{c}") for c in WINDOW_COLUMNS))
         .select_from(devices.join(device_windows, device_windows.c.device_id == devices.c.device_id)
                      .join(stream_offsets, (stream_offsets.c.consumer_group == group)
                            & (stream_offsets.c.topic == topic) & (stream_offsets.c.partition == device_windows.c.partition)))
         .where((device_windows.c.due_at < mark - timedelta(seconds=grace_s))
                | ((device_windows.c.silent_at < mark - timedelta(seconds=grace_s))
                   & device_windows.c.silent_since.is_(None)), devices.c.metric.in_(metrics))
         .limit(limit).with_for_update(of=devices, skip_locked=True))
    out = []
    for r in (await session.execute(q)).mappings():
        out.append(({c.name: r[c.name] for c in devices.c}, _window({c: r[f"w_{c}"] for c in WINDOW_COLUMNS}),
                    r["watermark"]))
    return out


async def applied_offsets(session: AsyncSession, group: str, parts: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The last offset applied per (topic, partition), locked: two members never apply one partition at once."""
    if not parts:
        return {}
    stmt = pg_insert(stream_offsets).values([{"consumer_group": group, "topic": t, "partition": p, "offset": -1}
                                             for t, p in parts]).on_conflict_do_nothing()
    await session.execute(stmt)
    q = (select(stream_offsets.c.topic, stream_offsets.c.partition, stream_offsets.c.offset)
         .where(stream_offsets.c.consumer_group == group,
                tuple_(stream_offsets.c.topic, stream_offsets.c.partition).in_(parts)).with_for_update())
    return {(r.topic, r.partition): r.offset for r in await session.execute(q)}


async def save_offsets(session: AsyncSession, group: str, offsets: dict[tuple[str, int], tuple[int, datetime]]) -> None:
    """Each partition's last applied offset and the latest event time applied on it (its watermark)."""
    if offsets:
        stmt = pg_insert(stream_offsets).values([{"consumer_group": group, "topic": t, "partition": p, "offset": o,
                                                  "watermark": w} for (t, p), (o, w) in offsets.items()])
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[stream_offsets.c.consumer_group, stream_offsets.c.topic, stream_offsets.c.partition],
            set_={"offset": stmt.excluded.offset, "watermark": func.greatest(
                stream_offsets.c.watermark, stmt.excluded.watermark)}))
