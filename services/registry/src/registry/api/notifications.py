"""Dual notifications (双告知): a department's own list, acknowledgement (签收), overdue state."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from jsp_common import clock
from jsp_common.access import enforced
from jsp_common.api_types import DepartmentCode
from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, principal_from_request

from ..domain.access import department_scope
from ..domain.acknowledgement import is_overdue
from ..usecases import notifications
from .context import Paging, paging

router = APIRouter(prefix="/notifications", tags=["dual notification"], dependencies=[enforced("registry")])


class NotificationOut(BaseModel):
    id: str
    uscc: str
    department: str
    kind: str
    cause: str
    matched_rules: list[str]
    domains: list[str]
    issued_at: datetime
    acknowledge_by: datetime
    acknowledge_by_provisional: bool = Field(description="counted through a year whose holiday schedule is not "
                                                         "published yet: it moves once the schedule is")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    reminder_count: int
    last_reminded_at: datetime | None
    superseded: bool = Field(description="a new-responsibility notice a later notice to the department about the "
                                         "entity followed (its responsibility ended, the entity closed, or it was "
                                         "told anew), or of a department the entity's record no longer names: "
                                         "never overdue, not reminded")
    overdue: bool

    @classmethod
    def of(cls, row: dict, now: datetime) -> "NotificationOut":
        m = dict(row)
        m["overdue"] = is_overdue(acknowledged_at=m["acknowledged_at"], overdue_since=m["overdue_since"],
                                  acknowledge_by=m["acknowledge_by"], now=now, superseded=m["superseded"])
        return cls.model_validate(m)


class NotificationPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[NotificationOut]


@router.get("", response_model=NotificationPage, summary="Notifications (a department sees only its own)")
async def list_notifications(request: Request, department: DepartmentCode | None = None, uscc: str | None = None,
                             acknowledged: bool | None = None, overdue: bool | None = None,
                             paging: Paging = Depends(paging), principal: Principal = Depends(principal_from_request)):
    visible, department = department_scope(principal, department,
                                           refused="only the office and departments read notifications")
    if not visible:
        return NotificationPage(total=0, page=paging.page, page_size=paging.page_size, items=[])
    now = clock.now()
    async with reading(request) as session:
        total, rows = await notifications.search(session, department=department, uscc=uscc,
                                                 acknowledged=acknowledged, overdue=overdue, now=now,
                                                 limit=paging.page_size, offset=paging.offset)
    return NotificationPage(total=total, page=paging.page, page_size=paging.page_size,
                            items=[NotificationOut.of(r, now) for r in rows])


@router.get("/{notification_id}", response_model=NotificationOut)
async def get_notification(notification_id: str, request: Request,
                           principal: Principal = Depends(principal_from_request)):
    async with reading(request) as session:
        row = await notifications.visible(session, principal, notification_id)
    return NotificationOut.of(row, clock.now())


@router.post("/{notification_id}/acknowledgement", response_model=NotificationOut,
             summary="The notified department acknowledges receipt (签收)")
async def acknowledge(notification_id: str, request: Request,
                      principal: Principal = Depends(principal_from_request)):
    async with transaction(request) as tx:
        row = await notifications.acknowledge(deps_of(request), tx, notification_id, principal)
    return NotificationOut.of(row, clock.now())
