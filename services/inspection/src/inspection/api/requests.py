"""The must-inspect list: targeted inspections risk alerts asked for (the office: all; a department: those
that ask it)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request

from jsp_common.http import reading
from jsp_common.principal import Principal, Role, require

from ..usecases import requests as uc
from .context import Paging, paging

router = APIRouter(tags=["inspection requests"])
STAFF = require(Role.OFFICE, Role.DEPARTMENT)


@router.get("/requests", summary="Targeted inspections asked for by risk alerts (open, planned in a task, covered)")
async def list_requests(request: Request, state: Literal["open", "planned", "covered"] | None = None,
                        paging: Paging = Depends(paging), actor: Principal = Depends(STAFF)):
    async with reading(request) as session:
        return await uc.listing(session, actor, state=state, limit=paging.limit, offset=paging.offset)
