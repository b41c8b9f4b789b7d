"""Dual notifications (双告知): a department's own list, acknowledgement (签收), overdue state."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import and_, func, not_, select

from jsp_common import clock
from jsp_common.access import enforced
from jsp_common.api_types import DepartmentCode
from jsp_common.principal import Principal, principal_from_request
from jsp_common.problems import Problem

from .. import handlers
from ..adapters import repository as repo
from ..adapters.tables import notifications
from ..domain.acknowledgement import is_overdue
from .deps import Paging, department_scope, registry_of, transaction

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
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    reminder_count: int
    last_reminded_at: datetime | None
    overdue: bool

    @classmethod
    def of(cls, row, now: datetime) -> "NotificationOut":
        """From a row (or its mapping)."""
        m = dict(getattr(row, "_mapping", row))
        m["overdue"] = is_overdue(acknowledged_at=m["acknowledged_at"], overdue_since=m["overdue_since"],
                                  acknowledge_by=m["acknowledge_by"], now=now)
        return cls.model_validate(m)


class NotificationPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[NotificationOut]


@router.get("", response_model=NotificationPage, summary="Notifications (a department sees only its own)")
async def list_notifications(request: Request, department: DepartmentCode | None = None, uscc: str | None = None,
                             acknowledged: bool | None = None, overdue: bool | None = None,
                             paging: Paging = Depends(), principal: Principal = Depends(principal_from_request)):
    visible, department = department_scope(principal, department,
                                           refused="only the office and departments read notifications")
    if not visible:
        return NotificationPage(total=0, page=paging.page, page_size=paging.page_size, items=[])
    now = clock.now()
    where = []
    if department:
        where.append(notifications.c.department == department)
    if uscc:
        where.append(notifications.c.uscc == uscc)
    if acknowledged is not None:
        where.append(notifications.c.acknowledged_at.is_not(None) if acknowledged
                     else notifications.c.acknowledged_at.is_(None))
    if overdue is not None:
        where.append(repo.overdue_condition(now) if overdue else not_(repo.overdue_condition(now)))
    cond = and_(*where) if where else True
    async with transaction(request) as tx:
        total = (await tx.session.execute(select(func.count()).select_from(notifications).where(cond))).scalar_one()
        rows = (await tx.session.execute(select(notifications).where(cond)
                                         .order_by(notifications.c.issued_at.desc(), notifications.c.id)
                                         .limit(paging.page_size).offset(paging.offset))).all()
    return NotificationPage(total=total, page=paging.page, page_size=paging.page_size,
                            items=[NotificationOut.of(r, now) for r in rows])


@router.get("/{notification_id}", response_model=NotificationOut)
async def get_notification(notification_id: str, request: Request,
                           principal: Principal = Depends(principal_from_request)):
    async with transaction(request) as tx:
        row = (await tx.session.execute(select(notifications).where(notifications.c.id == notification_id))).first()
    if row is None or not handlers.can_see_entity(principal, [row.department]):
        raise Problem(404, f"no notification {notification_id} here")
    return NotificationOut.of(row, clock.now())


@router.post("/{notification_id}/acknowledgement", response_model=NotificationOut,
             summary="The notified department acknowledges receipt (签收)")
async def acknowledge(notification_id: str, request: Request,
                      principal: Principal = Depends(principal_from_request)):
    async with transaction(request) as tx:
        row = await handlers.acknowledge(registry_of(request), tx, notification_id, principal)
    return NotificationOut.of(row, clock.now())
