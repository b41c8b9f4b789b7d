"""The audit writer: entries are queued by the request path and written in batches by one task.

Writing off the request path keeps a database round trip out of every call; a full queue makes
callers wait (nothing is dropped), and stopping the gateway flushes what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from jsp_common.db import Database, refused_value
from jsp_common.logs import get_logger
from jsp_common.tasks import cancel_until_done

from . import repositories

log = get_logger(__name__)


class AuditWriter:
    def __init__(self, db: Database, *, batch_size: int, flush_interval_s: float, queue_max: int):
        self.db, self.batch_size, self.flush_interval_s = db, batch_size, flush_interval_s
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_max)
        self.held: list[dict[str, Any]] = []   # taken from the queue, not written yet: written first next round
        self._task: asyncio.Task | None = None

    async def record(self, entry: dict[str, Any]) -> None:
        await self.queue.put(entry)

    async def flush(self) -> int:
        batch, self.held = self.held, []
        while not self.queue.empty() and len(batch) < self.batch_size:
            batch.append(self.queue.get_nowait())
        if not batch:
            return 0
        try:
            async with self.db.transaction() as session:
                await repositories.append_audit(session, batch)
        except Exception as exc:
            if refused_value(exc) is not None:  # an entry the database cannot take: the others are written
                return await self._one_by_one(batch)
            self._keep(batch)
            raise
        return len(batch)

    async def _one_by_one(self, batch: list[dict[str, Any]]) -> int:
        """Write each entry alone; one the database refuses goes to the log (at error level, whole) instead."""
        for k, entry in enumerate(batch):
            try:
                async with self.db.transaction() as session:
                    await repositories.append_audit(session, [entry])
            except Exception as exc:
                if refused_value(exc) is None:
                    self._keep(batch[k:])
                    raise
                log.error("an audit entry the database refuses is logged instead", entry=repr(entry)[:2000],
                          reason=refused_value(exc))
        return len(batch)

    def _keep(self, entries: list[dict[str, Any]]) -> None:
        """Hold ``entries`` to be written first next round (the database is away): not back in the queue, which
        the callers waiting to record filled as soon as they were taken (they were dropped there)."""
        self.held = entries + self.held

    async def run(self) -> None:
        while True:
            try:
                written = await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - database away: keep the entries, retry
                log.exception("audit flush failed; retrying")
                written = 0
            if written < self.batch_size:
                await asyncio.sleep(self.flush_interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="gateway-audit-writer")

    async def stop(self) -> None:
        await cancel_until_done(self._task)
        with contextlib.suppress(Exception):
            while await self.flush():
                pass
