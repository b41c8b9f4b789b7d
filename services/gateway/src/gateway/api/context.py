"""What every route reaches through the request: the gateway's dependencies and a transaction of its own
(the route owns it: committed when the route returns, rolled back when it raises)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from jsp_common.http import get_runtime, request_cause
from jsp_common.outbox import SessionTx

from ..deps import Deps


def deps_of(request: Request) -> Deps:
    return get_runtime(request).deps


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[SessionTx]:
    runtime = get_runtime(request)
    async with runtime.db.transaction() as session:
        principal = getattr(request.state, "principal", None)
        yield SessionTx(session, runtime.source, request_cause(request, principal.subject if principal else ""))
