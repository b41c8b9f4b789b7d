"""Request field types: text without NUL characters (PostgreSQL text cannot hold one); date-times as the
published document states them (RFC 3339)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    """Only what the document promises (an RFC 3339 date-time with its offset): no Unix seconds such as
    ``0.5``, no date without a time, no time without an offset."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-03-02T09:00:00+08:00")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
