"""W3C trace context (traceparent) carried from HTTP requests onto events and back."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)


def new_traceparent(trace_id: str | None = None) -> str:
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    m = _TRACEPARENT.match(traceparent or "")
    return m.group(1) if m else None


def child_of(traceparent: str | None) -> str:
    """A new span id in the same trace (a fresh trace when none or malformed)."""
    return new_traceparent(trace_id_of(traceparent))


def valid(traceparent: str | None) -> bool:
    return trace_id_of(traceparent) is not None
