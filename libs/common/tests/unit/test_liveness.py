"""Liveness (/healthz): a replica whose work has stalled says so, so that it is restarted (no servers: the runtime
is not started; its relay's and consumers' own records of their progress are set as a stall leaves them)."""

import time

import httpx

from jsp_common.http import create_service_app
from jsp_common.runtime import ServiceRuntime
from jsp_common.settings import ServiceSettings


async def _healthz(runtime: ServiceRuntime) -> httpx.Response:
    app = create_service_app(title="liveness", settings=runtime.settings, runtime_factory=lambda: runtime)
    app.state.runtime = runtime  # what the lifespan sets; the runtime itself is not started here
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.get("/healthz")


async def test_a_relay_holding_unsent_events_without_progress_past_the_limit_fails_liveness():
    runtime = ServiceRuntime(ServiceSettings(service_name="liveness", liveness_stall_s=60))
    runtime._working = True  # the relay runs
    try:
        assert (await _healthz(runtime)).status_code == 200
        runtime.relay._unsent_since = time.monotonic() - 30  # a long round, within the limit: no restart
        assert (await _healthz(runtime)).status_code == 200
        runtime.relay._unsent_since = time.monotonic() - 90
        answer = await _healthz(runtime)
        assert answer.status_code == 503
        assert answer.json()["stalled"][0].startswith("outbox relay (no event published for 9")
    finally:
        await runtime.db.dispose()


async def test_a_consumer_loop_whose_every_read_has_failed_past_the_limit_fails_liveness():
    runtime = ServiceRuntime(ServiceSettings(service_name="liveness", liveness_stall_s=60))
    loop = runtime.add_consumer(group="liveness.reader", topics=["liveness.topic"], handlers={})
    try:
        loop._failing_since = time.monotonic() - 30  # reads failing for a while (the broker away): no restart
        assert (await _healthz(runtime)).status_code == 200
        loop._failing_since = time.monotonic() - 90
        answer = await _healthz(runtime)
        assert answer.status_code == 503
        assert answer.json()["stalled"] == ["liveness.reader (every read failing for 90 s)"]
    finally:
        await loop.stop()
        await runtime.db.dispose()
