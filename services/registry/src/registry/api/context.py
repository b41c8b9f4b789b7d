"""What the registry routes share besides ``jsp_common.http.deps_of`` and ``transaction``: paging."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Query


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def paging(page: int = Query(1, ge=1, le=100_000), page_size: int = Query(50, ge=1, le=500)) -> Paging:
    """Dependency (a coroutine: FastAPI runs a plain function or class dependency in a worker thread)."""
    return Paging(page, page_size)
