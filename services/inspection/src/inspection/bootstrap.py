"""The one place that wires the inspection service: runtime (database, producer, outbox relay), its
dependencies and its consumers (the registry's directory, the credit classes, the inspection requests)."""

from __future__ import annotations

from functools import partial

from jsp_common import replica, topics
from jsp_common.runtime import ServiceRuntime
from jsp_common.workdays import calendar_with_overrides

from . import subscriptions
from .deps import Deps
from .settings import Settings
from .usecases.schedules import recompute_deadlines


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True) -> ServiceRuntime[Deps]:
    settings = (settings or Settings()).check()
    runtime: ServiceRuntime[Deps] = ServiceRuntime(settings)
    runtime.deps = deps = Deps(settings=settings, db=runtime.db, source=runtime.source,
                               calendar=calendar_with_overrides(settings.workday_overrides))
    if consume:
        runtime.add_consumer(group=settings.replica_group, topics=replica.TOPICS, handlers={},
                             batch_handlers=subscriptions.replica_handlers())
        runtime.add_consumer(group=settings.credit_group, topics=[topics.CREDIT_CLASSES], handlers={},
                             batch_handlers=subscriptions.credit_handlers())
        runtime.add_consumer(group=settings.requests_group, topics=[topics.INSPECTION_REQUESTS], handlers={},
                             batch_handlers=subscriptions.request_handlers())
    if periodic:
        runtime.watch_calendar(deps.calendar)
    # Published holiday schedules reach the calendar without a restart; provisional deadlines are recomputed.
    runtime.follow_schedules(deps.calendar, partial(recompute_deadlines, deps))
    return runtime
