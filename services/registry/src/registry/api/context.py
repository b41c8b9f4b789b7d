"""What the registry routes share besides ``jsp_common.http.deps_of`` and ``transaction``: paging."""

from __future__ import annotations

from fastapi import Query


class Paging:
    def __init__(self, page: int = Query(1, ge=1, le=100_000), page_size: int = Query(50, ge=1, le=500)):
        self.page, self.page_size = page, page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size
