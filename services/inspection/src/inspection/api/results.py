"""Results per entity and item, their publication, and the office's list of overdue publications."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request

from jsp_common import clock
from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, Role, require

from ..usecases import results as uc
from .context import ID, USCC, Paging, paging
from .schemas import ResultsIn

router = APIRouter(tags=["results"])
STAFF = require(Role.OFFICE, Role.DEPARTMENT)
STATE = {409: {"description": "What is recorded does not allow it (an item not inspected there or recorded already, a day outside the task's period; results published already or incomplete)"}}
Uscc = USCC


RECORDING = {**STATE, 403: {"description": "Not a department inspecting the entity, or an item of another "
                                           "department's (each records its own; the office any) (problem+json)"}}


@router.post("/tasks/{task_id}/targets/{uscc}/results", status_code=201, responses=RECORDING,
             summary="Record the joint team's results at one entity, per item (all or nothing)")
async def record(body: ResultsIn, request: Request, task_id: str = Path(pattern=ID), uscc: str = Uscc,
                 actor: Principal = Depends(STAFF)):
    async with transaction(request) as tx:
        return await uc.record(deps_of(request), tx, actor, task_id, uscc, body.model_dump(mode="python"))


@router.get("/tasks/{task_id}/targets/{uscc}", summary="One entity of a joint task with its results")
async def target(request: Request, task_id: str = Path(pattern=ID), uscc: str = Uscc, actor: Principal = Depends(STAFF)):
    async with reading(request) as session:
        return await uc.visible_target(session, actor, task_id, uscc)


@router.post("/tasks/{task_id}/targets/{uscc}/publication", responses=STATE,
             summary="Publish one entity's results (the public feed and inspection.result.published.v1)")
async def publish(request: Request, task_id: str = Path(pattern=ID), uscc: str = Uscc, actor: Principal = Depends(STAFF)):
    async with transaction(request) as tx:
        return await uc.publish(tx, actor, task_id, uscc)


@router.get("/publications/overdue", summary="Results not published within the working days allowed (the office)")
async def overdue(request: Request, paging: Paging = Depends(paging), _: Principal = Depends(require(Role.OFFICE))):
    async with reading(request) as session:
        return await uc.overdue(session, today=clock.today(), limit=paging.limit, offset=paging.offset)
