"""The command page's figures, kept per scope (the office: None; a department's staff: its code) and served
from memory while the read model has not changed: the first paint does not wait for the figures' queries.

Every read-model change (the change feed: PostgreSQL NOTIFY on commit) makes the kept figures stale and, after
``live_min_interval_s``, refreshes the office's and every kept scope's in the background, so the next page is
served at once again, while someone is watching: a page asked for within ``live_watch_s`` (an open live page
asks again after every change). With nobody watching, changes are passed over and the next page computes the
figures it shows (a day's catch-up with nobody looking costs no refreshes). Under a stream of changes (a
backlog being caught up) the refreshes take at most ``live_refresh_share`` of the time: their queries read the
whole read model, and would otherwise run back to back, taking the database from the consumer that is
catching up. A page that comes while figures are stale waits for fresh ones (never older than the changes it
was told about: a live page that refetches after an event sees that event). Figures also count time (overdue,
due soon): they are kept at most ``figures_max_age_s``.
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


def refresh_wait(debounce_s: float, last_refresh_s: float, share: float) -> float:
    """How long the background refresh waits after a change: at least ``debounce_s``, and long enough that
    refreshes taking ``last_refresh_s`` each take at most ``share`` of the time."""
    return max(debounce_s, last_refresh_s * (1 / share - 1)) if share > 0 else debounce_s


class FigureSnapshots:
    def __init__(self, compute: Callable[[Scope], Awaitable[dict]], *, max_age_s: float, debounce_s: float,
                 keep: int = 64, refresh_share: float = 1.0, watch_s: float = float("inf"),
                 clock: Callable[[], float] = time.monotonic):
        self._compute, self._max_age_s, self._debounce_s, self._keep = compute, max_age_s, debounce_s, keep
        self._refresh_share, self._watch_s, self._clock = refresh_share, watch_s, clock
        self._asked_at = -float("inf")
        self._version = 0
        self._kept: OrderedDict[Scope, tuple[int, float, dict]] = OrderedDict()
        self._running: dict[Scope, tuple[int, asyncio.Task]] = {}
        self._task: asyncio.Task | None = None

    async def get(self, scope: Scope) -> dict:
        self._asked_at = now = self._clock()
        kept = self._kept.get(scope)
        if kept is not None and kept[0] == self._version and now - kept[1] < self._max_age_s:
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
        self._kept[scope] = (running[0], self._clock(), figures)
        self._kept.move_to_end(scope)
        while len(self._kept) > self._keep:
            self._kept.popitem(last=False)
        return figures

    async def follow(self, changes: asyncio.Queue[str]) -> None:
        """Refresh in the background after changes, while someone watches: the office first, then every kept
        scope."""
        with contextlib.suppress(Exception):
            await self._refresh(None)               # warm at start: the first page is served from memory
        took = 0.0
        while True:
            await changes.get()                     # (the feed's hook has already called changed())
            if self._clock() - self._asked_at >= self._watch_s:
                continue                            # nobody watching: the next page computes its figures
            # a burst of changes, one refresh
            await asyncio.sleep(refresh_wait(self._debounce_s, took, self._refresh_share))
            while not changes.empty():
                changes.get_nowait()
            started = time.monotonic()
            for scope in [None, *[s for s in list(self._kept) if s is not None]]:
                try:
                    await self._refresh(scope)
                except Exception as exc:  # noqa: BLE001 - a page computes them itself; try on the next change
                    log.warning("figures not refreshed", scope=scope, error=type(exc).__name__)
            took = time.monotonic() - started

    def start(self, changes: asyncio.Queue[str]) -> None:
        self._task = asyncio.create_task(self.follow(changes), name="dashboard-figure-snapshots")

    async def stop(self) -> None:
        await cancel_until_done(self._task)
