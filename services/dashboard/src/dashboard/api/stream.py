"""The live stream (server-sent events): a page subscribes and refreshes its figures when the read model
changes, at most once per ``live_min_interval_s``; a comment every ``live_keepalive_s`` keeps it open. The public
pages' stream tells only of what they show (published inspection results): an anonymous visitor's page neither
fetches itself again on the platform's internal work nor learns when that happens."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from jsp_common.http import deps_of
from jsp_common.principal import Principal

from ..adapters.live import RECONNECTED
from .office import signed_in

router = APIRouter(prefix="/ui", include_in_schema=False)
# The areas of the read model (``adapters.writes.AREAS``) the public pages show, and the change feed's reconnection
# (changes may have been missed).
PUBLIC_AREAS = frozenset({"inspections", RECONNECTED})


@router.get("/stream")
async def stream(request: Request, p: Principal = Depends(signed_in)) -> StreamingResponse:
    return StreamingResponse(_events(request), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


@router.get("/public/stream")
async def public_stream(request: Request) -> StreamingResponse:
    return StreamingResponse(_events(request, PUBLIC_AREAS), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


async def _events(request: Request, areas: frozenset[str] | None = None):
    """The read model's changes, of ``areas`` only (None: every one)."""
    deps = deps_of(request)
    feed, s = deps.changes, deps.settings
    queue = feed.subscribe(areas)
    try:
        yield "retry: 3000\n: connected\n\n"
        while True:
            try:
                area = await asyncio.wait_for(queue.get(), s.live_keepalive_s)
            except asyncio.TimeoutError:
                yield ": keep-alive\n\n"
                continue
            await asyncio.sleep(s.live_min_interval_s)  # let a burst of changes land, then refresh once
            areas = {area}
            while not queue.empty():
                areas.add(queue.get_nowait())
            yield f"event: changed\ndata: {','.join(sorted(areas))}\n\n"
    finally:
        feed.unsubscribe(queue)
