"""Whether Kafka and the database are reachable, logged as state changes (:class:`Outage`, which the outbox
relay's failures use too): one line when a connection is lost, one every ``report_s`` while it stays lost (with
for how long), one when it is back (after how long); and kept as the gauge ``jsp_connection_up``. The libraries'
own complaints meanwhile are collapsed by ``jsp_common.logs``. Readiness reports Kafka's state from here
(:meth:`ConnectionWatch.state`): a probe of a broker that is away takes seconds, longer than the kubelet waits
for a readiness answer."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from .logs import get_logger
from .metrics import CONNECTION_UP
from .tasks import cancel_until_done

log = get_logger(__name__)


class Outage:
    """Something that can fail for a while (a connection, the outbox relay), logged as state changes: one line
    when it starts failing, one every ``report_s`` while it goes on (with for how long and how many failures),
    one when it works again; never a line per failed attempt."""

    def __init__(self, *, lost: str, still: str, back: str, report_s: float = 30.0, **fields: object):
        self.lost, self.still, self.back, self.report_s, self.fields = lost, still, back, report_s, fields
        self.failures = 0
        self._since = self._said_at = 0.0

    def failed(self, error: str) -> None:
        now = time.monotonic()
        if not self.failures:
            self._since = self._said_at = now
            log.warning(self.lost, **self.fields, error=error)
        elif now - self._said_at >= self.report_s:
            self._said_at = now
            log.warning(self.still, **self.fields, lost_for_s=round(now - self._since, 1), failures=self.failures,
                        error=error)
        self.failures += 1

    def succeeded(self) -> None:
        if self.failures:
            log.info(self.back, **self.fields, lost_for_s=round(time.monotonic() - self._since, 1),
                     failures=self.failures)
            self.failures = 0


@dataclass
class _State:
    name: str
    probe: Callable[[], Awaitable[None]]
    outage: Outage
    error: str | None = None   # what the last check failed with (None: it answered)
    checked: bool = False


class ConnectionWatch:
    def __init__(self, probes: dict[str, Callable[[], Awaitable[None]]], *, check_s: float = 2.0,
                 report_s: float = 30.0):
        self._states = [_State(name, probe, Outage(lost="connection lost", still="connection still lost",
                                             back="connection restored", report_s=report_s, connection=name))
                        for name, probe in probes.items()]
        self.check_s = check_s
        self._task: asyncio.Task | None = None

    async def check(self) -> None:
        """Probe each connection once and log what changed."""
        for s in self._states:
            try:
                await asyncio.wait_for(s.probe(), max(self.check_s, 3.0))
            except Exception as exc:  # noqa: BLE001 - any failure is "unreachable"
                s.error = f"{type(exc).__name__}: {exc}"[:300]
                s.outage.failed(s.error)
            else:
                s.error = None
                s.outage.succeeded()
            s.checked = True
            CONNECTION_UP.labels(s.name).set(0 if s.error else 1)

    def state(self, name: str) -> str:
        """``"ok"``, ``"unreachable: <error>"`` (since when: the logs), or ``"not checked yet"``, as of the last
        check of ``name`` (every ``check_s`` seconds)."""
        s = next(s for s in self._states if s.name == name)
        if not s.checked:
            return "not checked yet"
        return f"unreachable: {s.error}" if s.error else "ok"

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.check_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="connection-watch")

    async def stop(self) -> None:
        await cancel_until_done(self._task)

