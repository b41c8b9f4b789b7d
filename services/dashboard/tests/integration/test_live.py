"""The live streams on real Kafka and PostgreSQL, read as they come from the app on a port of its own: the staff's
stream tells every change of the read model, the public's only those of what the public pages show (published
inspection results), so an anonymous visitor neither refetches on the platform's internal work nor learns when it
happens."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from jsp_common import clock, topics
from jsp_common.db import Database
from jsp_common.events.clues import ClueTransitioned
from jsp_common.events.inspection import InspectionResultPublished, ItemResult
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, serving, unique

from dashboard.app import create_app

from .test_entities import taken_in
from .test_inspection_targets import SAMR, assigned, send


async def opened(http: httpx.AsyncClient, path: str, stack, **kwargs):
    """A stream held open, its first message (the connection's) read: its lines."""
    answer = await stack.enter_async_context(http.stream("GET", path, **kwargs))
    assert answer.status_code == 200, path
    lines = answer.aiter_lines()
    assert await anext(lines) == "retry: 3000"
    return lines


async def areas_until(lines, last: str) -> set[str]:
    """The areas of the stream's ``changed`` events, up to and with the first naming ``last``."""
    seen: set[str] = set()
    async with asyncio.timeout(60):
        async for line in lines:
            if line.startswith("data: "):
                seen |= set(line.removeprefix("data: ").split(","))
                if last in seen:
                    return seen
    raise AssertionError(f"the stream ended before {last!r}")


async def test_the_public_stream_tells_only_of_the_published_results_the_staff_s_of_every_change(
        dashboard_service, dashboard_settings, raw_producer):
    runtime, _ = dashboard_service
    app = create_app(dashboard_settings)
    app.state.runtime = runtime
    db = Database(dashboard_settings.database_url)
    clue_id, task_id, uscc = unique("CL"), unique("JT"), new_uscc("410105")
    try:
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http, \
                contextlib.AsyncExitStack() as stack:
            public = await opened(http, "/ui/public/stream", stack)
            staff = await opened(http, "/ui/stream", stack, headers=OFFICE)
            # internal work: a clue received, a joint task's visit planned (applied before the result is sent)
            internal = [await send(raw_producer, topics.CLUE_LIFECYCLE, ClueTransitioned(
                            clue_id=clue_id, channel="hotline", channel_ref=f"WO-{clue_id}", action="receive",
                            from_state=None, to_state="received", actor="clues.intake", at=clock.now(),
                            division_code="410105"), clue_id),
                        await send(raw_producer, topics.department_topic(topics.DEPARTMENT_INSPECTIONS, SAMR),
                                   assigned(unique("DR"), task_id, uscc), task_id)]
            await taken_in(db, dashboard_settings.read_model_group, internal, what="the clue and the visit")
            await send(raw_producer, topics.INSPECTION_RESULTS, InspectionResultPublished(
                uscc=uscc, entity_name="某某餐馆", task_id=task_id, matter_code="M1", lead_department=SAMR,
                departments=[SAMR], inspected_on=clock.today(),
                items=[ItemResult(item_code="S1", department=SAMR, outcome="no_problem")], problems_found=False,
                published_at=clock.now()), uscc)

            told_staff = await areas_until(staff, "inspections")
            told_public = await areas_until(public, "inspections")
            assert told_public <= {"inspections", "reconnected"}, told_public
            assert {"clues", "targets"} <= told_staff
    finally:
        await db.dispose()
