"""Directory queries (by USCC, search, history) and a department's dispute of its assignment."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any, Mapping, get_type_hints

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, create_model

from jsp_common.access import enforced
from jsp_common.api_types import NONBLANK_PRINTABLE, DepartmentCode, DivisionCode
from jsp_common.events.registry import AssignmentState, EntityStatus
from jsp_common.http import deps_of, get_runtime, reading, transaction
from jsp_common.principal import Principal, principal_from_request

from ..domain.access import department_scope
from ..domain.directory import Record
from ..usecases import adjudication, directory
from .context import Paging, paging

router = APIRouter(prefix="/entities", tags=["directory"], dependencies=[enforced("registry")])


class _EntityView(BaseModel):
    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "EntityOut":
        m = dict(row)
        m["responsible_departments"] = list(m.pop("departments"))
        return cls.model_validate(m)


def _entity_fields() -> dict[str, Any]:
    """An entity as the API shows it: the record's fields (its ``departments`` as ``responsible_departments``),
    every one present, and the columns the registry keeps beside them."""
    hints = get_type_hints(Record)
    shown = {("responsible_departments" if f.name == "departments" else f.name): (hints[f.name], ...)
             for f in fields(Record) if f.name not in ("stated_at", "status_changed_at")}
    shown.update(version=(int, ...), last_changed_at=(datetime, ...), city_code=(str | None, ...),
                 updated_at=(datetime, ...))
    return shown


EntityOut = create_model("EntityOut", __base__=_EntityView, **_entity_fields())


class EntityPage(BaseModel):
    total: int = Field(description="the matches, counted up to the registry's search_count_cap (10,000 by default)")
    total_capped: bool = Field(False, description="true: at least ``total`` match (more than the cap); narrow the "
                                                  "search for an exact count")
    page: int
    page_size: int
    items: list[EntityOut]


class DisputeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=NONBLANK_PRINTABLE)


@router.get("", response_model=EntityPage, summary="Search the directory")
async def search(request: Request, name: str | None = Query(None, max_length=200,
                                                             description="Chinese substring of the name (a name is "
                                                                         "at most 200 characters)"),
                 division: DivisionCode | None = Query(None, description="division code; a city includes its counties"),
                 industry: str | None = Query(None, pattern=r"^[0-9A-Za-z]{1,5}$", description="industry code or prefix"),
                 department: DepartmentCode | None = None, status: EntityStatus | None = None,
                 assignment_state: AssignmentState | None = None, paging: Paging = Depends(paging),
                 principal: Principal = Depends(principal_from_request)):
    visible, department = department_scope(principal, department,
                                           refused="only the office and departments query the directory")
    if not visible:
        return EntityPage(total=0, page=paging.page, page_size=paging.page_size, items=[])
    async with reading(request) as session:
        total, capped, rows = await directory.search(
            deps_of(request), session, limit=paging.page_size, offset=paging.offset, name=name,
            division=division, industry=industry, department=department, status=status and status.value,
            assignment_state=assignment_state and assignment_state.value)
    return EntityPage(total=total, total_capped=capped, page=paging.page, page_size=paging.page_size,
                      items=[EntityOut.of(r._mapping) for r in rows])


@router.get("/{uscc}", response_model=EntityOut, summary="One entity by USCC")
async def get_entity(uscc: str, request: Request, principal: Principal = Depends(principal_from_request)):
    return EntityOut.of(await directory.entity_row(get_runtime(request).db, principal, uscc))


@router.get("/{uscc}/history", summary="Every change received (applied or superseded) and every decision")
async def history(uscc: str, request: Request, principal: Principal = Depends(principal_from_request)) -> dict:
    async with reading(request) as session:
        return await directory.history(session, principal, uscc)


@router.post("/{uscc}/disputes", status_code=201, summary="A department disputes that it is responsible",
             responses={200: {"description": "the department's same dispute of the open case, sent again: the case "
                                             "as it stands, nothing recorded again"}})
async def dispute(uscc: str, body: DisputeIn, request: Request, response: Response,
                  principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        answer, new = await adjudication.dispute(deps_of(request), tx, uscc, principal, body.reason)
    if not new:
        response.status_code = 200
    return answer
