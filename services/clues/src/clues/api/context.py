"""What every clues route shares: the service's dependencies, one transaction per request, path parameters."""

from __future__ import annotations

from typing import Awaitable, Callable, TypeVar

from fastapi import Path, Request

from jsp_common.http import get_runtime
from jsp_common.outbox import SessionTx

from ..deps import Deps

T = TypeVar("T")

ID = r"^[A-Za-z0-9_\-.:]{1,64}$"
ClueId = Path(pattern=ID, description="clue id, e.g. CL20260302-0123456789ab")
TransferId = Path(pattern=ID)
RowId = Path(ge=1, le=2**31 - 1)
CONFLICT = {409: {"description": "The current state does not allow this action (problem+json, with the state)"}}


def deps_of(request: Request) -> Deps:
    return get_runtime(request).deps


async def in_tx(deps: Deps, use_case: Callable[[SessionTx], Awaitable[T]]) -> T:
    """Run a use case in the request's transaction (committed when it returns, rolled back when it raises)."""
    async with deps.db.transaction() as session:
        return await use_case(SessionTx(session, deps.source))
