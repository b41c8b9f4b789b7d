"""Builds the dashboard once: runtime (database, Kafka), the read model's consumer group, the change feed and
the command page's kept figures."""

from __future__ import annotations

import httpx

from jsp_common.runtime import ServiceRuntime

from jsp_common import clock

from . import subscriptions
from .adapters.live import ChangeFeed
from .deps import Deps
from .settings import Settings
from .usecases import overview
from .usecases.snapshots import FigureSnapshots


class DashboardRuntime(ServiceRuntime):
    deps: Deps

    async def start(self) -> None:
        self.deps.changes.start()
        self.deps.changes.on_change(lambda area: self.deps.snapshots.changed())
        self.deps.snapshots.start(self.deps.changes.subscribe())
        await super().start()

    async def stop(self) -> None:
        await self.deps.snapshots.stop()
        await self.deps.changes.stop()
        await self.deps.gateway.aclose()
        await super().stop()


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True) -> DashboardRuntime:
    settings = settings or Settings()
    runtime = DashboardRuntime(settings)
    async def figures(scope: str | None) -> dict:
        async with runtime.db.transaction() as session:
            return await overview.overview(session, settings, scope, clock.now())

    runtime.deps = Deps(settings=settings, db=runtime.db,
                        gateway=httpx.AsyncClient(base_url=settings.gateway_url, timeout=settings.upstream_timeout_s),
                        changes=ChangeFeed(settings.database_url),
                        snapshots=FigureSnapshots(figures, max_age_s=settings.figures_max_age_s,
                                                  debounce_s=settings.live_min_interval_s))
    if consume:
        runtime.add_consumer(group=settings.read_model_group, topics=subscriptions.read_model_topics(),
                             handlers=subscriptions.read_model_handlers(runtime.deps))
    return runtime
