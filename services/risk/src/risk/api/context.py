"""What the risk routes share besides ``jsp_common.http.deps_of`` and ``transaction``: the path parameters and
their checks."""

from __future__ import annotations

from fastapi import Path

from jsp_common import api_types
from jsp_common import uscc as uscc_mod
from jsp_common.problems import Problem

USCC = Path(pattern=api_types.USCC_PATTERN, json_schema_extra={"format": "uscc"},
            description="统一社会信用代码 (GB 32100-2015), with a valid check character (422 otherwise)")
ALERT_ID = Path(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="alert id, e.g. RA20260302-0123456789ab")
DEVICE_ID = Path(pattern=r"^[0-9A-Za-z_\-.:]{1,64}$")


def valid_uscc(value: str) -> str:
    """The path's USCC, its check character verified (422 with the reason otherwise)."""
    try:
        return uscc_mod.validate(value)
    except uscc_mod.InvalidUSCC as exc:
        raise Problem(422, f"invalid USCC {value}: {exc}", errors=[{"field": "uscc", "reason": str(exc)}]) from None

