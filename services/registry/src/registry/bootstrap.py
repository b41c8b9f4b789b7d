"""Builds the registry's runtime once: database, producer, outbox relay, intake consumer, periodic jobs."""

from __future__ import annotations

from functools import partial

from jsp_common.runtime import ServiceRuntime

from . import consumers, handlers
from .handlers import Registry
from .settings import Settings


class RegistryRuntime(ServiceRuntime):
    """The shared runtime plus the registry's own dependencies."""

    def __init__(self, settings: Settings, *, with_consumers: bool = True, with_jobs: bool = True):
        super().__init__(settings)
        self.registry = Registry.build(settings, self.source)
        self.intake = consumers.register(self, self.registry) if with_consumers else None
        if with_jobs:
            self.add_periodic("registry-overdue", partial(handlers.remind_overdue, self.registry, self.db),
                              settings.overdue_scan_interval_s)
            self.add_periodic("registry-reassess", partial(drain, handlers.reassess_pending, self.registry, self.db),
                              settings.reassess_interval_s)
            self.add_periodic("registry-replicate", partial(drain, handlers.replicate_pending, self.registry, self.db),
                              settings.replicate_interval_s)
            self.watch_calendar(self.registry.calendar)


async def drain(job, registry: Registry, db) -> None:
    """Run a batch job until a round finds nothing to do."""
    while await job(registry, db):
        pass


def build_runtime(settings: Settings | None = None, **kw) -> RegistryRuntime:
    return RegistryRuntime(settings or Settings(), **kw)
