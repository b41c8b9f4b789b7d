"""The event catalogue: every event type on every topic, as a versioned pydantic model.

Each owner declares its events in a module of this package (``registry``, ``clues``, ...)
with the :func:`event` decorator. ``CATALOGUE`` maps the CloudEvents ``type`` to its model;
``python -m jsp_common.events export`` writes their JSON Schemas to ``docs/schemas``.
"""

from __future__ import annotations

from .base import CATALOGUE, EventData, UnknownEventType, event, model_for, parse_data

# Importing the owner modules registers their events.
from . import registry as _registry  # noqa: E402,F401
from . import clues as _clues  # noqa: E402,F401
from . import inspection as _inspection  # noqa: E402,F401
from . import risk as _risk  # noqa: E402,F401
from . import calendar as _calendar  # noqa: E402,F401
from . import operations as _operations  # noqa: E402,F401

__all__ = ["CATALOGUE", "EventData", "UnknownEventType", "event", "model_for", "parse_data"]
