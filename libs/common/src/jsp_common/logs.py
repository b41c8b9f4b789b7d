"""Structured JSON logging (structlog); the event id and trace id ride on every line.

The libraries' own lines (aiokafka, asyncio, uvicorn, SQLAlchemy: Python's ``logging``) are rendered as the same
JSON lines, with their logger's name, and a line a library repeats is collapsed: the first one is written, the
same message (logger, level and template) again within ``JSP_LOG_REPEAT_WINDOW_S`` is only counted, and the
first one after that window says how many were left out (``repeated``). A broker restart therefore costs a few
lines, not tens of thousands; the runtime logs the state changes themselves (``jsp_common.runtime``: lost,
still lost, restored)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from contextvars import ContextVar
from typing import Any

import structlog
from structlog.contextvars import merge_contextvars

__all__ = ["configure_logging", "get_logger", "log_fields", "RepeatFilter"]

_FIELDS: ContextVar[tuple[tuple[str, Any], ...]] = ContextVar("jsp_log_fields", default=())


class log_fields:
    """``with log_fields(event_id=..., trace_id=...):`` every line logged inside carries these fields (the event
    or request being handled). One context variable set and reset: this wraps every event and request, and
    structlog's ``bound_contextvars`` costs several times as much."""

    __slots__ = ("_fields", "_token")

    def __init__(self, **fields: Any):
        self._fields = tuple(fields.items())

    def __enter__(self) -> None:
        self._token = _FIELDS.set(_FIELDS.get() + self._fields)

    def __exit__(self, *exc: object) -> None:
        _FIELDS.reset(self._token)


def _merge_log_fields(logger: Any, method: str, event_dict: dict) -> dict:
    for key, value in _FIELDS.get():
        event_dict.setdefault(key, value)  # a field the line names itself wins
    return event_dict


class RepeatFilter(logging.Filter):
    """Lets a library's message through once per ``window_s``; counts the copies it holds back."""

    def __init__(self, window_s: float = 60.0, max_keys: int = 10_000):
        super().__init__()
        self.window_s, self.max_keys = window_s, max_keys
        self._seen: dict[tuple, list] = {}  # key -> [when last let through, held back since]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.window_s:
                seen[1] += 1
                return False
            if seen is not None and seen[1]:
                record.repeated = seen[1]  # the copies held back since the last one written
            if len(self._seen) >= self.max_keys:
                self._seen.clear()
            self._seen[key] = [now, 0]
        return True


def configure_logging(service: str, level: str = "INFO", json: bool = True, *, repeat_window_s: float = 60.0) -> None:
    shared = [
        merge_contextvars,
        _merge_log_fields,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(), structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Python's logging (the libraries): the same JSON lines, repeats collapsed
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(allow=["repeated"])],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    renderer]))
    handler.addFilter(RepeatFilter(repeat_window_s))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
