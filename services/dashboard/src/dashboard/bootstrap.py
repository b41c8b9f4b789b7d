"""Builds the dashboard once: runtime (database, Kafka), the read model's consumer group, the change feed and
the command page's kept figures."""

from __future__ import annotations

from functools import partial

import httpx

from jsp_common import topics
from jsp_common.cached import Refreshing
from jsp_common.consumer import ConsumerLoop
from jsp_common.db import Database
from jsp_common.runtime import ServiceRuntime

from . import subscriptions
from .adapters.live import ChangeFeed
from .deps import Deps
from .settings import Settings
from .usecases import overview, public
from .usecases.snapshots import FigureSnapshots


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True) -> ServiceRuntime[Deps]:
    settings = settings or Settings()
    runtime: ServiceRuntime[Deps] = ServiceRuntime(settings)

    gateway = httpx.AsyncClient(base_url=settings.gateway_url, timeout=settings.upstream_timeout_s)
    matters = Refreshing(partial(public.matters_in_effect, gateway), settings.matter_names_cache_s)
    runtime.deps = Deps(settings=settings, db=runtime.db, gateway=gateway,
                        changes=ChangeFeed(settings.database_url),
                        snapshots=FigureSnapshots(partial(overview.kept, runtime.db, settings),
                                                  max_age_s=settings.figures_max_age_s,
                                                  debounce_s=settings.live_min_interval_s,
                                                  refresh_share=settings.live_refresh_share,
                                                  watch_s=settings.live_watch_s),
                        matters=matters,
                        matter_names=Refreshing(partial(public.matter_names, matters), settings.matter_names_cache_s))
    deps = runtime.deps

    def start_live() -> None:  # the change feed, and the command page's figures kept from it
        deps.changes.start()
        deps.changes.on_change(lambda area: deps.snapshots.changed())
        deps.snapshots.start(deps.changes.subscribe())

    async def stop_live() -> None:
        await deps.snapshots.stop()
        await deps.changes.stop()
        await deps.gateway.aclose()

    runtime.on_start(start_live)
    runtime.on_stop(stop_live)
    if consume:
        add_read_model(runtime, settings)
    return runtime


def add_read_model(runtime: ServiceRuntime, settings: Settings, db: Database | None = None) -> ConsumerLoop:
    """The consumer group that writes the read model (into ``db``: a rebuild's copy of it): two consumers, the
    shared topics' and every department's (a Kafka group of its own, see ``topics.departments_group``), with one
    inbox and the same handlers. Returns the first: either applies any of the group's messages."""
    def read(topic_names: list[str], **options) -> ConsumerLoop:
        return runtime.add_consumer(group=settings.read_model_group, topics=topic_names,
                                    handlers=subscriptions.read_model_handlers(),
                                    batch_handlers=subscriptions.read_model_batch_handlers(), db=db, **options)

    shared = read(subscriptions.shared_topics())
    read(subscriptions.department_topics(), kafka_group=topics.departments_group(settings.read_model_group),
         fetch_min_bytes=settings.departments_fetch_min_bytes, fetch_max_wait_ms=settings.departments_fetch_max_wait_ms)
    return shared
