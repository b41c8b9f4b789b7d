"""The one place that wires the clues service: its runtime (database, producer, outbox relay), dependencies,
the intake and replica consumers and the periodic deadline scan."""

from __future__ import annotations

from functools import partial

from jsp_common import receipts
from jsp_common.cached import Refreshing
from jsp_common.runtime import ServiceRuntime
from jsp_common.workdays import calendar_with_overrides

from . import subscriptions
from .adapters import directory
from .adapters.crypto import PiCipher
from .deps import Deps
from .domain.receipts import submission_rejected
from .settings import Settings
from .usecases.configuration import load_configuration
from .usecases.deadlines import periodic_scan
from .usecases.schedules import recompute_deadlines


def build(settings: Settings | None = None, *, consume: bool = True, periodic: bool = True) -> ServiceRuntime[Deps]:
    """The clues runtime; ``consume=False`` leaves out the consumers, ``periodic=False`` the scan."""
    settings = (settings or Settings()).check()
    runtime: ServiceRuntime[Deps] = ServiceRuntime(settings)
    runtime.deps = deps = Deps(settings=settings, db=runtime.db, cipher=PiCipher(settings.pi_keys),
                               calendar=calendar_with_overrides(settings.workday_overrides),
                               config=Refreshing(load_configuration, settings.rules_cache_s),
                               name_gram_shares=Refreshing(directory.name_gram_shares,
                                                           settings.match_statistics_cache_s),
                               source=runtime.source)
    if consume:
        runtime.add_consumer(group=settings.intake_group, topics=subscriptions.INTAKE_TOPICS, handlers={},
                             batch_handlers=subscriptions.intake_handlers(deps),
                             on_poison=receipts.on_poison(submission_rejected))
        runtime.add_consumer(group=settings.replica_group, topics=subscriptions.REPLICA_TOPICS, handlers={},
                             batch_handlers=subscriptions.replica_handlers())
    if periodic:
        runtime.add_periodic("clues-deadline-scan", lambda: periodic_scan(deps), settings.deadline_scan_interval_s)
        runtime.watch_calendar(deps.calendar)
    # Published holiday schedules reach the calendar without a restart; provisional deadlines are recomputed.
    runtime.follow_schedules(deps.calendar, partial(recompute_deadlines, deps))
    return runtime
