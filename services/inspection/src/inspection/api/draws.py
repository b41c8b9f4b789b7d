"""Draws of a joint task: announce (the seed's hash first), perform, abandon; the full record to replay."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request

from jsp_common.http import deps_of, transaction
from jsp_common.principal import Principal, Role, require
from jsp_common.problems import Problem

from ..usecases import draws as uc
from .context import ID
from .schemas import AbandonIn

router = APIRouter(tags=["draws"])
STAFF = require(Role.OFFICE, Role.DEPARTMENT)
REFUSED = {409: {"description": "The draw was refused (the pool cannot satisfy the rules), its state does not allow "
                                "this, or the task's period has ended (problem+json)"}}
NOT_NOW = {409: {"description": "The task has a live draw (abandon it first), or its period has ended: a draw is "
                                "announced and performed within the task's period (problem+json)"}}


@router.post("/tasks/{task_id}/draws", status_code=201, responses=NOT_NOW,
             summary="Announce a draw: a fresh seed whose hash is published before the draw")
async def announce(request: Request, task_id: str = Path(pattern=ID), actor: Principal = Depends(STAFF)):
    async with transaction(request) as tx:
        return await uc.announce(tx, actor, task_id)


@router.post("/draws/{draw_id}/perform", responses=REFUSED,
             summary="Perform an announced draw: entities per plan and credit class, merged by USCC, then inspectors")
async def perform(request: Request, draw_id: str = Path(pattern=ID), actor: Principal = Depends(STAFF)):
    async with transaction(request) as tx:
        out = await uc.perform(deps_of(request), tx, actor, draw_id)
    if isinstance(out, uc.Refused):
        # The refusal is on the record (committed above); nothing of the draw's result was written.
        raise Problem(409, f"draw refused: {out.reason}", draw_id=out.draw_id, refusal=out.facts)
    return out


@router.post("/draws/{draw_id}/abandon", summary="Abandon a draw with a reason (it stays on the record)")
async def abandon(body: AbandonIn, request: Request, draw_id: str = Path(pattern=ID), actor: Principal = Depends(STAFF)):
    async with transaction(request) as tx:
        return await uc.abandon(tx, actor, draw_id, body.reason)
