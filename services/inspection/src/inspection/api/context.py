"""What the inspection routes share besides ``jsp_common.http.deps_of`` and ``transaction``: paging, path patterns."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Path, Query

from jsp_common import api_types

from ..domain.sampling import CLASSES

ID = r"^[A-Za-z0-9_\-.:]{1,64}$"
CREDIT_CLASS = f"^[{''.join(CLASSES)}]$"
USCC = Path(pattern=api_types.USCC_PATTERN, description="统一社会信用代码 (GB 32100-2015)")


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


async def paging(limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9)) -> Paging:
    """Dependency (a coroutine: FastAPI runs a plain function or class dependency in a worker thread)."""
    return Paging(limit, offset)
