"""The office's adjudication queue (研判定性) and its decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from jsp_common.access import enforced
from jsp_common.api_types import PRINTABLE, DepartmentCode
from jsp_common.principal import Principal, principal_from_request

from .. import handlers
from ..adapters.tables import adjudication_cases, entities
from .deps import Paging, registry_of, transaction

router = APIRouter(prefix="/adjudication", tags=["adjudication"], dependencies=[enforced("registry")])
office = principal_from_request  # who may call: jsp_common.access (the router checks it)


class CaseOut(BaseModel):
    id: str
    uscc: str
    name: str | None = None
    reason: str
    status: str
    candidate_departments: list[str]
    detail: str | None
    opened_at: datetime
    opened_by: str
    decided_at: datetime | None
    decided_by: str | None
    departments: list[str] | None
    note: str | None


class DecisionIn(BaseModel):
    departments: list[DepartmentCode] = Field(min_length=1, description="department codes, e.g. samr-410100")
    note: str | None = Field(None, max_length=2000, pattern=PRINTABLE)


def _query():
    return select(adjudication_cases, entities.c.name).join(
        entities, entities.c.uscc == adjudication_cases.c.uscc, isouter=True)


@router.get("", summary="The queue (default: open cases, oldest first)")
async def queue(request: Request, status: Literal["open", "decided", "withdrawn"] = Query("open"),
                paging: Paging = Depends(),
                principal: Principal = Depends(office)) -> dict:
    async with transaction(request) as tx:
        total = (await tx.session.execute(select(func.count()).select_from(adjudication_cases)
                                          .where(adjudication_cases.c.status == status))).scalar_one()
        rows = (await tx.session.execute(_query().where(adjudication_cases.c.status == status)
                                         .order_by(adjudication_cases.c.opened_at)
                                         .limit(paging.page_size).offset(paging.offset))).all()
    return {"total": total, "page": paging.page, "page_size": paging.page_size,
            "items": [CaseOut.model_validate(dict(r._mapping)) for r in rows]}


@router.get("/{case_id}", response_model=CaseOut)
async def get_case(case_id: str, request: Request, principal: Principal = Depends(office)):
    async with transaction(request) as tx:
        row = (await tx.session.execute(_query().where(adjudication_cases.c.id == case_id))).first()
    if row is None:
        from jsp_common.problems import Problem
        raise Problem(404, f"no adjudication case {case_id}")
    return CaseOut.model_validate(dict(row._mapping))


@router.post("/{case_id}/decision", summary="Assign the responsible department(s); notifications go out")
async def decide(case_id: str, body: DecisionIn, request: Request, principal: Principal = Depends(office)) -> dict:
    async with transaction(request) as tx:
        return await handlers.decide(registry_of(request), tx, case_id, body.departments, body.note, principal)
