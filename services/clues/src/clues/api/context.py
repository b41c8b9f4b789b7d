"""What every clues route shares: the service's dependencies, a transaction of its own (the route owns it:
committed when the route returns, rolled back when it raises), path parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Path, Request

from jsp_common.http import get_runtime, request_cause
from jsp_common.outbox import SessionTx

from ..deps import Deps

ID = r"^[A-Za-z0-9_\-.:]{1,64}$"
ClueId = Path(pattern=ID, description="clue id, e.g. CL20260302-0123456789ab")
TransferId = Path(pattern=ID)
# One Path() object per parameter: FastAPI names a shared one after the first parameter it meets.
ExtId = Path(ge=1, le=2**31 - 1, description="extension request id")
RuleId = Path(ge=1, le=2**31 - 1, description="routing rule id")
CONFLICT = {409: {"description": "The current state does not allow this action (problem+json, with the state)"}}


def deps_of(request: Request) -> Deps:
    return get_runtime(request).deps


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[SessionTx]:
    runtime = get_runtime(request)
    async with runtime.db.transaction() as session:
        yield SessionTx(session, runtime.source, request_cause(request))
