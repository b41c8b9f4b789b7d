"""Whether Kafka and the database are reachable, logged as state changes: one line when a connection is lost,
one every ``report_s`` while it stays lost (with for how long), one when it is back (after how long). The
libraries' own complaints meanwhile are collapsed by ``jsp_common.logs``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from .logs import get_logger
from .tasks import cancel_until_done

log = get_logger(__name__)


@dataclass
class _State:
    name: str
    probe: Callable[[], Awaitable[None]]
    lost_at: float | None = None
    reported_at: float = 0.0


class ConnectionWatch:
    def __init__(self, probes: dict[str, Callable[[], Awaitable[None]]], *, check_s: float = 2.0,
                 report_s: float = 30.0):
        self._states = [_State(name, probe) for name, probe in probes.items()]
        self.check_s, self.report_s = check_s, report_s
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def check(self) -> None:
        """Probe each connection once and log what changed."""
        for s in self._states:
            try:
                await asyncio.wait_for(s.probe(), max(self.check_s, 3.0))
                error = None
            except Exception as exc:  # noqa: BLE001 - any failure is "unreachable"
                error = f"{type(exc).__name__}: {exc}"[:300]
            now = time.monotonic()
            if error is None:
                if s.lost_at is not None:
                    log.info("connection restored", connection=s.name, lost_for_s=round(now - s.lost_at, 1))
                    s.lost_at = None
            elif s.lost_at is None:
                s.lost_at = s.reported_at = now
                log.warning("connection lost", connection=s.name, error=error)
            elif now - s.reported_at >= self.report_s:
                s.reported_at = now
                log.warning("connection still lost", connection=s.name, lost_for_s=round(now - s.lost_at, 1),
                            error=error)

    async def run(self) -> None:
        while not self._stopping:
            await self.check()
            await asyncio.sleep(self.check_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="connection-watch")

    async def stop(self) -> None:
        self._stopping = True
        await cancel_until_done(self._task)

