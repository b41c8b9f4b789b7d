"""The command page's kept figures: served from memory until the read model changes, then computed anew
(once for every page that asks meanwhile), and never older than their maximum age."""

from __future__ import annotations

import asyncio

from jsp_testkit.testing import wait_until

from dashboard.usecases.snapshots import FigureSnapshots, refresh_wait


class Counter:
    def __init__(self):
        self.calls: list[str | None] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, scope):
        self.calls.append(scope)
        await self.gate.wait()
        return {"scope": scope, "n": len(self.calls)}


async def test_kept_until_a_change_then_computed_once_for_everyone_waiting():
    compute = Counter()
    snaps = FigureSnapshots(compute, max_age_s=60, debounce_s=0)
    assert await snaps.get(None) == {"scope": None, "n": 1}
    assert await snaps.get(None) == {"scope": None, "n": 1}       # from memory
    assert (await snaps.get("samr-410100"))["scope"] == "samr-410100"  # each scope its own
    snaps.changed()
    compute.gate.clear()
    waiting = [asyncio.create_task(snaps.get(None)) for _ in range(3)]
    await wait_until(lambda: len(compute.calls) == 3, timeout=5, what="the computation started")
    compute.gate.set()
    got = await asyncio.gather(*waiting)
    assert got[0] == got[1] == got[2] == {"scope": None, "n": 3}  # one computation for the three pages
    assert compute.calls == [None, "samr-410100", None]


async def test_figures_older_than_their_maximum_age_are_computed_again():
    compute = Counter()
    snaps = FigureSnapshots(compute, max_age_s=0.0, debounce_s=0)
    await snaps.get(None)
    await snaps.get(None)
    assert compute.calls == [None, None]


async def test_a_change_refreshes_the_kept_scopes_in_the_background():
    compute = Counter()
    snaps = FigureSnapshots(compute, max_age_s=60, debounce_s=0)
    changes: asyncio.Queue[str] = asyncio.Queue()
    snaps.start(changes)
    try:
        await snaps.get("samr-410100")
        snaps.changed()
        await changes.put("clues")
        await wait_until(lambda: compute.calls.count("samr-410100") == 2, timeout=5, what="the background refresh")
        assert compute.calls.count(None) == 2 and compute.calls.count("samr-410100") == 2  # warmed, then refreshed
        n = len(compute.calls)
        await snaps.get("samr-410100")
        assert len(compute.calls) == n  # the page is served from what the refresh kept
    finally:
        await snaps.stop()


def test_under_a_stream_of_changes_refreshes_take_at_most_their_share_of_the_time():
    assert refresh_wait(1.0, 0.01, 0.2) == 1.0             # quick figures: refreshed a second after a change
    assert refresh_wait(1.0, 2.0, 0.2) == 8.0              # 2 s of queries, then 8 s for the consumer: a fifth
    assert refresh_wait(1.0, 2.0, 1.0) == 1.0              # a share of 1: back to back, as often as changes come


async def test_with_nobody_watching_a_change_is_passed_over_and_the_next_page_computes_its_figures():
    compute, now = Counter(), [0.0]
    snaps = FigureSnapshots(compute, max_age_s=600, debounce_s=0, watch_s=60, clock=lambda: now[0])
    changes: asyncio.Queue[str] = asyncio.Queue()
    snaps.start(changes)
    try:
        await wait_until(lambda: compute.calls == [None], timeout=5, what="the office's figures warmed at start")
        await snaps.get("samr-410100")                 # asked at 0 s
        now[0] = 61.0                                  # nobody has asked since
        snaps.changed()
        await changes.put("clues")
        await wait_until(changes.empty, timeout=5, what="the change taken")  # nothing awaited before it is judged
        assert compute.calls == [None, "samr-410100"], "no background refresh with nobody watching"
        assert (await snaps.get("samr-410100"))["n"] == 3  # the page computes what it shows, and watches
        snaps.changed()
        await changes.put("clues")
        await wait_until(lambda: len(compute.calls) == 5, timeout=5, what="the background refresh")
        assert compute.calls == [None, "samr-410100", "samr-410100", None, "samr-410100"]
    finally:
        await snaps.stop()
