"""What every inspection route shares: the service's dependencies, a transaction of its own (the route owns it:
committed when the route returns, rolled back when it raises), paging, path patterns."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Path, Query, Request

from jsp_common import api_types

from jsp_common.http import get_runtime
from jsp_common.outbox import SessionTx

from ..deps import Deps

ID = r"^[A-Za-z0-9_\-.:]{1,64}$"
USCC = Path(pattern=api_types.USCC_PATTERN, description="统一社会信用代码 (GB 32100-2015)")


def deps_of(request: Request) -> Deps:
    return get_runtime(request).deps


@asynccontextmanager
async def transaction(request: Request):
    """The route's transaction: the use case writes and emits in it; it commits when the route is done."""
    runtime = get_runtime(request)
    async with runtime.db.transaction() as session:
        yield SessionTx(session, runtime.source)


class Paging:
    def __init__(self, limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9)):
        self.limit, self.offset = limit, offset
