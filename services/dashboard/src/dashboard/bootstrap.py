"""Builds the dashboard once: runtime (database, Kafka), the read model's consumer group, the change feed."""

from __future__ import annotations

import httpx

from jsp_common.runtime import ServiceRuntime

from . import subscriptions
from .adapters.live import ChangeFeed
from .deps import Deps
from .settings import Settings


class DashboardRuntime(ServiceRuntime):
    deps: Deps

    async def start(self) -> None:
        self.deps.changes.start()
        await super().start()

    async def stop(self) -> None:
        await self.deps.changes.stop()
        await self.deps.gateway.aclose()
        await super().stop()


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True) -> DashboardRuntime:
    settings = settings or Settings()
    runtime = DashboardRuntime(settings)
    runtime.deps = Deps(settings=settings, db=runtime.db,
                        gateway=httpx.AsyncClient(base_url=settings.gateway_url, timeout=settings.upstream_timeout_s),
                        changes=ChangeFeed(settings.database_url))
    if consume:
        runtime.add_consumer(group=settings.read_model_group, topics=subscriptions.read_model_topics(),
                             handlers=subscriptions.read_model_handlers(runtime.deps))
    return runtime
