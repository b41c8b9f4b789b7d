"""Declaring event contracts."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

CATALOGUE: dict[str, type["EventData"]] = {}
RESERVED_FIELDS = {"event_type", "version"}
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
        clash = RESERVED_FIELDS & set(cls.model_fields)
        if clash:
            raise TypeError(f"{cls.__name__}: field name(s) {sorted(clash)} are reserved for the event's own type")
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
