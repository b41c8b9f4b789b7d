"""What every route needs: the service's dependencies, a transaction, paging."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Query, Request

from jsp_common.http import get_runtime, request_cause
from jsp_common.outbox import SessionTx

from ..deps import Deps


def deps_of(request: Request) -> Deps:
    return get_runtime(request).deps


@asynccontextmanager
async def transaction(request: Request):
    """The route's transaction: the use case writes and emits in it; it commits when the route is done."""
    runtime = get_runtime(request)
    async with runtime.db.transaction() as session:
        yield SessionTx(session, runtime.source, request_cause(request))


class Paging:
    def __init__(self, page: int = Query(1, ge=1, le=100_000), page_size: int = Query(50, ge=1, le=500)):
        self.page, self.page_size = page, page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size
