"""The office's adjudication queue (研判定性) and its decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from jsp_common.access import enforced
from jsp_common.api_types import PRINTABLE, DepartmentCode
from jsp_common.domains import Domain
from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, principal_from_request

from ..usecases import adjudication
from .context import Paging, paging

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
    domains: list[Domain] | None = Field(
        None, min_length=1, max_length=len(Domain),
        description="the key domains (重点领域) the entity is supervised in, replacing those the rules gave; omitted: "
                    "unchanged. Name them for a case no rule matched: the entity has none, and inspection plans "
                    "drawing by domain do not find it")


@router.get("", summary="The queue (default: open cases, oldest first)")
async def queue(request: Request, status: Literal["open", "decided", "withdrawn"] = Query("open"),
                paging: Paging = Depends(paging),
                principal: Principal = Depends(office)) -> dict:
    async with reading(request) as session:
        total, rows = await adjudication.queue(session, status=status, limit=paging.page_size,
                                               offset=paging.offset)
    return {"total": total, "page": paging.page, "page_size": paging.page_size,
            "items": [CaseOut.model_validate(r) for r in rows]}


@router.get("/{case_id}", response_model=CaseOut)
async def get_case(case_id: str, request: Request, principal: Principal = Depends(office)):
    async with reading(request) as session:
        return CaseOut.model_validate(await adjudication.case(session, case_id))


@router.post("/{case_id}/decision", summary="Assign the responsible department(s); notifications go out")
async def decide(case_id: str, body: DecisionIn, request: Request, principal: Principal = Depends(office)) -> dict:
    async with transaction(request) as tx:
        return await adjudication.decide(deps_of(request), tx, case_id, body.departments, body.note, principal,
                                         domains=body.domains)
