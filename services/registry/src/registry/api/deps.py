"""What every route needs: the runtime's registry, a transaction, paging."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Query, Request

from jsp_common.http import get_runtime
from jsp_common.outbox import SessionTx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..handlers import Registry


def registry_of(request: Request) -> Registry:
    return get_runtime(request).registry


@asynccontextmanager
async def transaction(request: Request):
    runtime = get_runtime(request)
    async with runtime.db.transaction() as session:
        yield SessionTx(session, runtime.source)


def department_scope(principal: Principal, requested: str | None, *, refused: str) -> tuple[bool, str | None]:
    """(visible, department filter) of a listing: the office sees what it asks for; a department sees only its
    own (asking for another's gives nothing); anyone else is refused (403, ``refused``)."""
    if principal.is_office:
        return True, requested
    if not principal.department:
        raise Problem(403, refused)
    return (not requested or requested == principal.department), principal.department


class Paging:
    def __init__(self, page: int = Query(1, ge=1, le=100_000), page_size: int = Query(50, ge=1, le=500)):
        self.page, self.page_size = page, page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size
