"""What the inspection routes share besides ``jsp_common.http.deps_of`` and ``transaction``: paging, path patterns."""

from __future__ import annotations

from fastapi import Query

ID = r"^[A-Za-z0-9_\-.:]{1,64}$"
USCC_PATTERN = r"^[0-9A-Z]{18}$"


class Paging:
    def __init__(self, limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9)):
        self.limit, self.offset = limit, offset
