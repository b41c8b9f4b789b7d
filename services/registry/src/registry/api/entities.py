"""Directory queries (by USCC, search, history) and a department's dispute of its assignment."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from jsp_common.access import enforced
from jsp_common.api_types import NONBLANK_PRINTABLE, DepartmentCode, DivisionCode
from jsp_common.events.registry import AssignmentState, EntityStatus
from jsp_common.principal import Principal, principal_from_request
from jsp_common.problems import Problem

from .. import handlers
from ..adapters import repository as repo
from ..adapters.tables import decisions, entity_history, notifications
from .deps import Paging, department_scope, registry_of, transaction

router = APIRouter(prefix="/entities", tags=["directory"], dependencies=[enforced("registry")])


class EntityOut(BaseModel):
    uscc: str
    name: str
    entity_type: str
    legal_representative: str | None
    address: str
    division_code: str
    city_code: str | None
    industry_code: str
    business_scope: str
    licences: list[dict[str, Any]]
    status: str
    established_on: date
    approved_on: date | None
    closed_on: date | None
    registration_authority: str | None
    responsible_departments: list[str]
    domains: list[str]
    matched_rules: list[str]
    assignment_state: str
    assignment_source: str
    rule_version: int | None
    version: int
    last_changed_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row) -> "EntityOut":
        m = dict(row._mapping)
        m["responsible_departments"] = list(m.pop("departments"))
        return cls.model_validate(m)


class EntityPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[EntityOut]


class DisputeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=NONBLANK_PRINTABLE)


@router.get("", response_model=EntityPage, summary="Search the directory")
async def search(request: Request, name: str | None = Query(None, description="Chinese substring of the name"),
                 division: DivisionCode | None = Query(None, description="division code; a city includes its counties"),
                 industry: str | None = Query(None, pattern=r"^[0-9A-Za-z]{1,5}$", description="industry code or prefix"),
                 department: DepartmentCode | None = None, status: EntityStatus | None = None,
                 assignment_state: AssignmentState | None = None, paging: Paging = Depends(),
                 principal: Principal = Depends(principal_from_request)):
    visible, department = department_scope(principal, department,
                                           refused="only the office and departments query the directory")
    if not visible:
        return EntityPage(total=0, page=paging.page, page_size=paging.page_size, items=[])
    where = repo.entity_filters(name=name, division=division, industry=industry, department=department,
                                status=status and status.value,
                                assignment_state=assignment_state and assignment_state.value)
    async with transaction(request) as tx:
        total, rows = await repo.search_entities(tx.session, where=where, limit=paging.page_size,
                                                 offset=paging.offset)
    return EntityPage(total=total, page=paging.page, page_size=paging.page_size, items=[EntityOut.of(r) for r in rows])


@router.get("/{uscc}", response_model=EntityOut, summary="One entity by USCC")
async def get_entity(uscc: str, request: Request, principal: Principal = Depends(principal_from_request)):
    async with transaction(request) as tx:
        row = (await tx.session.execute(select(repo.entities).where(repo.entities.c.uscc == uscc))).first()
    if row is None or not handlers.can_see_entity(principal, row.departments):
        raise Problem(404, f"no entity {uscc} here")
    return EntityOut.of(row)


@router.get("/{uscc}/history", summary="Every change received (applied or superseded) and every decision")
async def history(uscc: str, request: Request, principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        await handlers.entity_for(tx.session, principal, uscc)
        changes = (await tx.session.execute(select(entity_history).where(entity_history.c.uscc == uscc)
                                            .order_by(entity_history.c.occurred_at, entity_history.c.id))).all()
        made = (await tx.session.execute(select(decisions).where(decisions.c.uscc == uscc)
                                         .order_by(decisions.c.at, decisions.c.id))).all()
        q = select(notifications).where(notifications.c.uscc == uscc)
        if not principal.is_office:
            q = q.where(notifications.c.department == principal.department)
        notes = (await tx.session.execute(q.order_by(notifications.c.issued_at))).all()
    return {"uscc": uscc,
            "changes": [{k: v for k, v in r._mapping.items() if k != "id"} for r in changes],
            "decisions": [{k: v for k, v in r._mapping.items() if k != "id"} for r in made],
            "notifications": [dict(r._mapping) for r in notes]}


@router.post("/{uscc}/disputes", status_code=201, summary="A department disputes that it is responsible")
async def dispute(uscc: str, body: DisputeIn, request: Request,
                  principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        return await handlers.dispute(registry_of(request), tx, uscc, principal, body.reason)
