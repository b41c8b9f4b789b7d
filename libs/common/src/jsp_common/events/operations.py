"""The platform's operations: what operators did to the messages themselves.

* ``operations.dead-letter.redriven.v1`` on ``operations.dead-letter-redrives.v1`` (keyed by the dead-letter
  topic): one dead letter put back on its original topic after a fix (``python -m jsp_common.deadletters
  redrive``): which one, why it had been dead-lettered, where it went, who did it and why. The re-driven
  message itself carries ``redrive.*`` headers naming the same.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .base import EventData, event


@event("operations.dead-letter.redriven.v1")
class DeadLetterRedriven(EventData):
    """A dead letter re-driven to its original topic (the consumer group's inbox still applies it once only)."""

    dead_letter_topic: str = Field(max_length=500)
    dead_letter_offset: int = Field(ge=0)
    consumer_group: str = Field(max_length=300, description="the group that dead-lettered it")
    reason: str = Field(max_length=4000, description="why it had been dead-lettered (dlq.reason)")
    failed_at: datetime | None = None
    original_topic: str = Field(max_length=300)
    original_partition: int = Field(ge=0)
    original_offset: int = Field(ge=0)
    event_id: str | None = Field(None, max_length=200, description="the envelope id of the dead letter, if any")
    dead_event_type: str | None = Field(None, max_length=200, description="the envelope type of the dead letter")
    redriven_partition: int = Field(ge=0)
    redriven_offset: int = Field(ge=0, description="where the re-driven copy is on the original topic")
    redriven_at: datetime
    redriven_by: str = Field(min_length=1, max_length=200, description="the operator")
    note: str = Field("", max_length=2000, description="what was fixed")
