"""Request field types: text without NUL characters (PostgreSQL text cannot hold one); date-times as the
published document states them (RFC 3339)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from jsp_common import api_types


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


Timestamp = api_types.Timestamp  # one definition for every service (jsp_common.api_types)
