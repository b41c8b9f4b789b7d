"""The one place that wires the registry: its runtime (database, producer, outbox relay), dependencies,
the intake consumer and the periodic jobs."""

from __future__ import annotations

from functools import partial
from typing import Awaitable, Callable

from jsp_common import receipts, topics
from jsp_common.cached import Refreshing
from jsp_common.db import Database
from jsp_common.runtime import ServiceRuntime
from jsp_common.workdays import calendar_with_overrides

from . import subscriptions
from .adapters import entities as records
from .adapters.rules import starter_rules
from .deps import Deps
from .settings import Settings
from .usecases import announcements, intake, notifications, reassessment, replication
from .usecases.rules import compiled_rules


def build_deps(settings: Settings, db: Database, source: str) -> Deps:
    return Deps(settings=settings, db=db, source=source,
                calendar=calendar_with_overrides(settings.workday_overrides),
                rules=Refreshing(compiled_rules(starter_rules(settings.starter_rules_file)), settings.rules_cache_s),
                bigram_shares=Refreshing(records.name_bigram_shares, settings.search_statistics_cache_s))


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True) -> ServiceRuntime[Deps]:
    """The registry's runtime; ``consume=False`` leaves out the intake consumer, ``periodic=False`` the jobs."""
    settings = settings or Settings()
    runtime: ServiceRuntime[Deps] = ServiceRuntime(settings)
    runtime.deps = deps = build_deps(settings, runtime.db, runtime.source)
    if consume:
        runtime.add_consumer(group=settings.intake_group, topics=[topics.MARKET_REGISTRATIONS], handlers={},
                             batch_handlers=subscriptions.intake_handlers(deps),
                             on_poison=receipts.on_poison(intake.registration_rejected))
    if periodic:
        runtime.add_periodic("registry-overdue", lambda: notifications.remind_overdue(deps),
                             settings.overdue_scan_interval_s)
        runtime.add_periodic("registry-reassess", lambda: drain(reassessment.reassess_pending, deps),
                             settings.reassess_interval_s)
        runtime.add_periodic("registry-replicate", lambda: drain_all(deps, replication.replicate_pending,
                                                                     announcements.announce_pending),
                             settings.replicate_interval_s)
        runtime.watch_calendar(deps.calendar)
    # Published holiday schedules reach the calendar without a restart; provisional deadlines are recomputed.
    runtime.follow_schedules(deps.calendar, partial(notifications.recompute_deadlines, deps))
    return runtime


async def drain(job: Callable[[Deps], Awaitable[int]], deps: Deps) -> None:
    """Run a batch job until a round finds nothing to do."""
    while await job(deps):
        pass


async def drain_all(deps: Deps, *jobs: Callable[[Deps], Awaitable[int]]) -> None:
    """Drain each of ``jobs`` in turn (what the bulk import wrote without its events: records, then cases)."""
    for job in jobs:
        await drain(job, deps)
