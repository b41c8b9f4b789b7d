"""What the AsyncAPI document says of Kafka beyond the events' schemas: the headers every event carries, and the
dead-letter topics with theirs (:mod:`jsp_common.contracts_export` puts them in the document)."""

from __future__ import annotations

from typing import Any

from . import topics
from .envelope import CONTENT_TYPE

EVENT_HEADERS = {
    "type": "object", "title": "EventHeaders",
    "description": "Kafka headers (UTF-8 values) every event carries, copies of its envelope's, to route or trace "
                   "it without parsing; the envelope is authoritative. A sender's ce_id lets the platform name "
                   "the event in its rejection receipt even when the message cannot be read.",
    "properties": {"content-type": {"type": "string", "const": CONTENT_TYPE},
                   "ce_id": {"type": "string", "description": "the envelope's id"},
                   "ce_type": {"type": "string", "description": "the envelope's type"},
                   "traceparent": {"type": "string", "description": "W3C trace context, when traced"},
                   "redrive.from": {"type": "string", "description": "on an operator's re-driven copy: the dead "
                                                                     "letter's <topic>:<offset>"},
                   "redrive.by": {"type": "string"}, "redrive.at": {"type": "string", "format": "date-time"},
                   "redrive.note": {"type": "string"}},
}
DEAD_LETTER_HEADERS = {
    "type": "object", "title": "DeadLetterHeaders",
    "description": "The original message's headers, and the dead letter's own (UTF-8 values).",
    "required": ["dlq.reason", "dlq.original.topic", "dlq.original.partition", "dlq.original.offset",
                 "dlq.consumer.group", "dlq.failed_at"],
    "properties": {
        "dlq.reason": {"type": "string", "description": "why the group refused it (cut to 8 KiB, saying so)"},
        "dlq.details": {"type": "string", "description": "JSON: the field-level reasons, [{field, reason}]"},
        "dlq.original.topic": {"type": "string"},
        "dlq.original.partition": {"type": "string", "description": "an integer"},
        "dlq.original.offset": {"type": "string", "description": "an integer"},
        "dlq.consumer.group": {"type": "string"},
        "dlq.failed_at": {"type": "string", "format": "date-time"},
        "dlq.value_omitted": {"type": "string", "description": "present when the value was too large to keep: "
                                                               "its size and why; read the original record"},
    },
}


def dead_letters_channel() -> tuple[dict[str, Any], dict[str, Any]]:
    """The dead-letter topics (one per topic and consuming group) as one channel, and the operation."""
    channel = {
        "address": "{topic}.dlq.{group}",
        "description": "The messages a consumer group of the platform refused (unreadable, schema-invalid, or not "
                       "applicable), each as it arrived, with the reason; operators re-drive them after a fix. A "
                       "group reading every department's topic has one for all: dept.all.<kind>.v1.dlq.<group>.",
        "parameters": {"topic": {"description": "the topic the message was read from"},
                       "group": {"description": "the consumer group that refused it, e.g. registry.intake"}},
        "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
        "bindings": {"kafka": {"partitions": 1, "topicConfiguration": {"retention.ms": topics.FOREVER},
                               "bindingVersion": "0.5.0"}},
        "x-key": "the original message's key",
    }
    return channel, {"action": "send", "channel": {"$ref": "#/channels/dead_letters"},
                     "summary": "The platform keeps what its groups refuse, with the reason.",
                     "messages": [{"$ref": "#/channels/dead_letters/messages/dead_letter"}]}
