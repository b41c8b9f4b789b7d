"""What the clues routes share besides ``jsp_common.http.deps_of`` and ``transaction``: path parameters."""

from __future__ import annotations

from fastapi import Path

ID = r"^[A-Za-z0-9_\-.:]{1,64}$"
ClueId = Path(pattern=ID, description="clue id, e.g. CL20260302-0123456789ab")
TransferId = Path(pattern=ID)
# One Path() object per parameter: FastAPI names a shared one after the first parameter it meets.
ExtId = Path(ge=1, le=2**31 - 1, description="extension request id")
RuleId = Path(ge=1, le=2**31 - 1, description="routing rule id")
CONFLICT = {409: {"description": "The current state does not allow this action (problem+json, with the state)"}}

