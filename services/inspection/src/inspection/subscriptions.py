"""Event type -> thin adapter into a use case, per consumer group."""

from __future__ import annotations

from jsp_common import replica
from jsp_common.consumer import BatchHandler
from jsp_common.events.registry import EntityChanged

from .adapters.tables import entities
from .usecases import directory, requests

CREDIT_CLASS_CHANGED = "risk.credit-class.changed.v1"
INSPECTION_REQUESTED = "risk.inspection.requested.v1"


def replica_extras(record: EntityChanged) -> dict:
    """This service's own replica column: each entity's domains."""
    return {"domains": list(record.domains)}


def replica_handlers() -> dict[str, BatchHandler]:
    """``inspection.replica``: the registry's directory, with each entity's domains."""
    return replica.batch_handlers(entities, extras=replica_extras)


def credit_handlers() -> dict[str, BatchHandler]:
    """``inspection.credit``: the risk service's credit classes."""
    return {CREDIT_CLASS_CHANGED: directory.apply_credit_classes}


def request_handlers() -> dict[str, BatchHandler]:
    """``inspection.requests``: targeted inspections risk alerts ask for (the must-inspect list)."""
    return {INSPECTION_REQUESTED: requests.apply_requests}
