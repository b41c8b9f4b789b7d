"""Declaring event contracts."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

CATALOGUE: dict[str, type["EventData"]] = {}
T = TypeVar("T", bound=type["EventData"])


class UnknownEventType(KeyError):
    pass


class EventData(BaseModel):
    """The ``data`` of one event type. ``event_type`` is the CloudEvents ``type``, version included."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    event_type: ClassVar[str]
    version: ClassVar[int]


def event(event_type: str):
    """Register a model as the contract of ``event_type`` (``<owner>.<thing>.<past-tense>.v<N>``)."""

    def register(cls: T) -> T:
        if event_type in CATALOGUE:
            raise ValueError(f"event type {event_type} declared twice")
        cls.event_type = event_type
        cls.version = int(event_type.rsplit(".v", 1)[1])
        CATALOGUE[event_type] = cls
        return cls

    return register


def model_for(event_type: str) -> type[EventData]:
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None


def parse_data(event_type: str, data: dict[str, Any] | None) -> EventData:
    """Validate an envelope's data against its contract (raises pydantic.ValidationError)."""
    return model_for(event_type).model_validate(data or {})
