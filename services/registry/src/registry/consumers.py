"""Event type -> handler, for the registry's consumer groups."""

from __future__ import annotations

from functools import partial

from jsp_common.runtime import ServiceRuntime
from jsp_common.topics import MARKET_ENTITY_EVENTS

from . import handlers
from .handlers import Registry

INTAKE_TOPIC = "market.registrations.v1"


def register(runtime: ServiceRuntime, registry: Registry):
    """The intake consumer: the bureau's registration events (and the same events ingested by the gateway)."""
    handle_many = partial(handlers.handle_market_events, registry)
    return runtime.add_consumer(group=registry.settings.intake_group, topics=[INTAKE_TOPIC], handlers={},
                                batch_handlers={t: handle_many for t in MARKET_ENTITY_EVENTS},
                                on_poison=partial(handlers.on_poison, registry))
