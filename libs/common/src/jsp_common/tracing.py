"""W3C trace context (traceparent) carried from HTTP requests onto events and back."""

from __future__ import annotations

import random
import re
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)


# Trace and span ids need to be unique, not secret: a seeded generator, not a system call per id (os.urandom was
# a twentieth of an event pipeline's CPU). getrandbits(n) | 1 is never the all-zero id W3C forbids.
_ids = random.Random()


def new_traceparent(trace_id: str | None = None) -> str:
    return f"00-{trace_id or format(_ids.getrandbits(128) | 1, '032x')}-{_ids.getrandbits(64) | 1:016x}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    m = _TRACEPARENT.match(traceparent or "")
    return m.group(1) if m else None


def child_of(traceparent: str | None) -> str:
    """A new span id in the same trace (a fresh trace when none or malformed)."""
    return new_traceparent(trace_id_of(traceparent))


def valid(traceparent: str | None) -> bool:
    return trace_id_of(traceparent) is not None
