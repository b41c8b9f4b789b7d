"""The command page's figures, kept per scope (the office: None; a department's staff: its code) and served
from memory while the read model has not changed: the first paint does not wait for the figures' queries.

Every read-model change (the change feed: PostgreSQL NOTIFY on commit) makes the kept figures stale and, after
``live_min_interval_s``, refreshes the office's and every kept scope's in the background, so the next page is
served at once again. A page that comes while figures are stale waits for fresh ones (never older than the
changes it was told about: a live page that refetches after an event sees that event). Figures also count
time (overdue, due soon): they are kept at most ``figures_max_age_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from typing import Awaitable, Callable

from jsp_common.logs import get_logger
from jsp_common.tasks import cancel_until_done

log = get_logger(__name__)
Scope = str | None


class FigureSnapshots:
    def __init__(self, compute: Callable[[Scope], Awaitable[dict]], *, max_age_s: float, debounce_s: float,
                 keep: int = 64):
        self._compute, self._max_age_s, self._debounce_s, self._keep = compute, max_age_s, debounce_s, keep
        self._version = 0
        self._kept: OrderedDict[Scope, tuple[int, float, dict]] = OrderedDict()
        self._running: dict[Scope, tuple[int, asyncio.Task]] = {}
        self._task: asyncio.Task | None = None

    async def get(self, scope: Scope) -> dict:
        kept = self._kept.get(scope)
        if kept is not None and kept[0] == self._version and time.monotonic() - kept[1] < self._max_age_s:
            self._kept.move_to_end(scope)
            return kept[2]
        return await self._refresh(scope)

    def changed(self) -> None:
        """The read model changed: what is kept is stale."""
        self._version += 1

    async def _refresh(self, scope: Scope) -> dict:
        version = self._version
        running = self._running.get(scope)
        if running is None or running[0] != version:
            running = (version, asyncio.create_task(self._compute(scope), name=f"dashboard-figures-{scope}"))
            self._running[scope] = running
        try:
            figures = await asyncio.shield(running[1])
        finally:
            if self._running.get(scope) is running and running[1].done():
                del self._running[scope]
        self._kept[scope] = (running[0], time.monotonic(), figures)
        self._kept.move_to_end(scope)
        while len(self._kept) > self._keep:
            self._kept.popitem(last=False)
        return figures

    async def follow(self, changes: asyncio.Queue[str]) -> None:
        """Refresh in the background after changes: the office first, then every kept scope."""
        with contextlib.suppress(Exception):
            await self._refresh(None)               # warm at start: the first page is served from memory
        while True:
            await changes.get()                     # (the feed's hook has already called changed())
            await asyncio.sleep(self._debounce_s)   # a burst of changes, one refresh
            while not changes.empty():
                changes.get_nowait()
            for scope in [None, *[s for s in list(self._kept) if s is not None]]:
                try:
                    await self._refresh(scope)
                except Exception as exc:  # noqa: BLE001 - a page computes them itself; try on the next change
                    log.warning("figures not refreshed", scope=scope, error=type(exc).__name__)

    def start(self, changes: asyncio.Queue[str]) -> None:
        self._task = asyncio.create_task(self.follow(changes), name="dashboard-figure-snapshots")

    async def stop(self) -> None:
        await cancel_until_done(self._task)
