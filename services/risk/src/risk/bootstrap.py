"""Builds the risk service once: runtime (database, producer, outbox relay), its consumers and periodic jobs."""

from __future__ import annotations

from functools import partial

from jsp_common.cached import Refreshing
from jsp_common.runtime import ServiceRuntime
from jsp_common.workdays import calendar_with_overrides

from . import subscriptions
from .adapters import model_rows
from .deps import Deps
from .settings import Settings
from .usecases import ageing, alerts, cooldown, monitoring
from .usecases import schedules as schedules_uc


async def _model(session):
    found = await model_rows.latest_model(session)
    if found is None:
        raise RuntimeError("the risk database has no model: run `python -m risk migrate` first")
    return found


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True) -> ServiceRuntime[Deps]:
    settings = settings or Settings()
    runtime: ServiceRuntime[Deps] = ServiceRuntime(settings)
    deps = Deps(settings=settings, db=runtime.db, source=runtime.source,
                calendar=calendar_with_overrides(settings.workday_overrides),
                model=Refreshing(_model, ttl_s=settings.model_cache_s))
    runtime.deps = deps
    if consume:
        runtime.add_consumer(group=settings.replica_group, topics=subscriptions.REPLICA_TOPICS, handlers={},
                             batch_handlers=subscriptions.replica_handlers())
        runtime.add_consumer(group=settings.indicators_group, topics=subscriptions.INDICATOR_TOPICS, handlers={},
                             batch_handlers=subscriptions.indicator_handlers(deps),
                             wanted=subscriptions.INDICATOR_WANTED)
        # No inbox row per reading: the windows' partition offsets de-duplicate redeliveries, and each open window the
        # event ids of the readings it counted (usecases/monitoring.py).
        runtime.add_consumer(group=settings.monitoring_group, topics=subscriptions.MONITORING_TOPICS, handlers={},
                             batch_handlers=subscriptions.monitoring_handlers(deps), inbox=False)
    if periodic:
        async def scan() -> None:
            await monitoring.scan_windows(deps)

        async def escalate() -> None:
            await alerts.escalate_due(deps)

        async def held_back() -> None:
            await cooldown.raise_held_back(deps)

        async def rescore() -> None:
            await ageing.rescore_when_due(deps)

        runtime.add_periodic("risk-window-scan", scan, settings.window_scan_interval_s)
        runtime.add_periodic("risk-escalation", escalate, settings.escalation_scan_interval_s)
        runtime.add_periodic("risk-cooldown", held_back, settings.escalation_scan_interval_s)
        runtime.add_periodic(ageing.JOB, rescore, settings.rescore_check_interval_s)
        runtime.watch_calendar(deps.calendar)
    # Published holiday schedules reach the calendar without a restart; provisional response deadlines are
    # recomputed.
    runtime.follow_schedules(deps.calendar, partial(schedules_uc.recompute_deadlines, deps))
    return runtime
