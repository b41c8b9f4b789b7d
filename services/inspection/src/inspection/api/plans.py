"""Departments' sampling plans and joint tasks (a department: only its own plans and the tasks it is in)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request

from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, Role, require
from jsp_common.problems import Problem

from ..adapters import tasks as repo
from ..domain import access
from ..usecases import plans as uc
from .context import ID, Paging, paging
from .schemas import PlanIn, TaskIn

router = APIRouter(tags=["plans and joint tasks"])
STAFF = require(Role.OFFICE, Role.DEPARTMENT)
PLAN_REFUSED = {409: {"description": "The matter is not in effect on the period's first day, the department takes no "
                                     "part in the version in effect then or has no item of it, a ratio is outside "
                                     "its class's band or above a general matter's cap, the filter matches no "
                                     "active entity, "
                                     "or the period has ended (problem+json)"}}
TASK_REFUSED = {409: {"description": "The plans are not of one matter version and period, one per department, "
                                     "the lead department's among them, none in a joint task yet, or their period has "
                                     "ended (problem+json)"}}


@router.post("/plans", status_code=201, responses=PLAN_REFUSED,
             summary="A department's sampling plan for a matter and period")
async def create_plan(body: PlanIn, request: Request, actor: Principal = Depends(STAFF)):
    async with transaction(request) as tx:
        return await uc.create_plan(deps_of(request), tx, actor, body.fields())


@router.get("/plans", summary="Plans (a department: its own)")
async def list_plans(request: Request, matter_code: str | None = None, paging: Paging = Depends(paging),
                     actor: Principal = Depends(STAFF)):
    department = access.department_of(actor)
    if department == "":
        raise Problem(403, "plans are for the office and the departments")
    async with reading(request) as session:
        return await repo.list_plans(session, department=department, matter_code=matter_code,
                                     limit=paging.limit, offset=paging.offset)


@router.get("/plans/{plan_id}", summary="One plan")
async def one_plan(request: Request, plan_id: str = Path(pattern=ID), actor: Principal = Depends(STAFF)):
    async with reading(request) as session:
        return await uc.visible_plan(session, actor, plan_id)


@router.post("/tasks", status_code=201, responses=TASK_REFUSED,
             summary="The lead department merges plans into one joint task (汇总取重)")
async def create_task(body: TaskIn, request: Request, actor: Principal = Depends(STAFF)):
    async with transaction(request) as tx:
        return await uc.create_task(tx, actor, body.plan_ids)


@router.get("/tasks", summary="Joint tasks (a department: those its items are part of)")
async def list_tasks(request: Request, paging: Paging = Depends(paging), actor: Principal = Depends(STAFF)):
    department = access.department_of(actor)
    if department == "":
        raise Problem(403, "joint tasks are for the office and the departments")
    async with reading(request) as session:
        return await repo.list_tasks(session, department=department, limit=paging.limit, offset=paging.offset)


@router.get("/tasks/{task_id}", summary="One joint task: its draws and its targets (the lead: all, it publishes their "
                                     "results; another department: those it inspects)")
async def one_task(request: Request, task_id: str = Path(pattern=ID), actor: Principal = Depends(STAFF)):
    async with reading(request) as session:
        task = await uc.visible_task(session, actor, task_id)
        department = None if access.leads(actor, task) else access.department_of(actor)
        return {**task, "draws": await repo.draws_of(session, task_id),
                "targets": await repo.targets_of(session, task_id, department=department)}


