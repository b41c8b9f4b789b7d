"""Builds the clues service once: runtime (database, producer, outbox relay), consumers, periodic job."""

from __future__ import annotations

from jsp_common.runtime import ServiceRuntime
from jsp_common.workdays import calendar_with_overrides

from . import consumers, handlers
from .adapters.crypto import PiCipher
from .adapters.repository import ConfigCache
from .settings import Settings


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True
          ) -> tuple[ServiceRuntime, handlers.Deps]:
    settings = (settings or Settings()).check()
    runtime = ServiceRuntime(settings)
    deps = handlers.Deps(settings=settings, db=runtime.db, cipher=PiCipher(settings.pi_keys),
                         calendar=calendar_with_overrides(settings.workday_overrides), config=ConfigCache(settings.rules_cache_s),
                         source=runtime.source)
    if consume:
        runtime.add_consumer(group=consumers.INTAKE_GROUP, topics=consumers.INTAKE_TOPICS,
                             handlers=consumers.intake_handlers(deps), on_poison=consumers.reject_poison)
        runtime.add_consumer(group=consumers.REPLICA_GROUP, topics=consumers.REPLICA_TOPICS, handlers={},
                             batch_handlers=consumers.replica_handlers(deps))
    if periodic:
        runtime.add_periodic("clues-deadline-scan", lambda: handlers.periodic_scan(deps),
                             settings.deadline_scan_interval_s)
        runtime.watch_calendar(deps.calendar)
    runtime.deps = deps  # type: ignore[attr-defined]  # the routes reach the handlers' dependencies here
    return runtime, deps
