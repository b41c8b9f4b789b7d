"""Dual notifications (双告知): a department's own list, acknowledgement (签收), overdue state."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import and_, func, not_, or_, select

from jsp_common import clock
from jsp_common.principal import Principal, Role, principal_from_request, require
from jsp_common.problems import Problem

from .. import handlers
from ..adapters.tables import notifications
from .deps import Paging, registry_of, transaction

router = APIRouter(prefix="/notifications", tags=["dual notification"])


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
        m["overdue"] = m["acknowledged_at"] is None and (m["overdue_since"] is not None or now > m["acknowledge_by"])
        return cls.model_validate(m)


class NotificationPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[NotificationOut]


def _overdue(now: datetime):
    return and_(notifications.c.acknowledged_at.is_(None),
                or_(notifications.c.overdue_since.is_not(None), notifications.c.acknowledge_by < now))


@router.get("", response_model=NotificationPage, summary="Notifications (a department sees only its own)")
async def list_notifications(request: Request, department: str | None = None, uscc: str | None = None,
                             acknowledged: bool | None = None, overdue: bool | None = None,
                             paging: Paging = Depends(), principal: Principal = Depends(principal_from_request)):
    if not principal.is_office:
        if not principal.department:
            raise Problem(403, "only the office and departments read notifications")
        if department and department != principal.department:
            return NotificationPage(total=0, page=paging.page, page_size=paging.page_size, items=[])
        department = principal.department
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
        where.append(_overdue(now) if overdue else not_(_overdue(now)))
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
    if row is None or not (principal.is_office or principal.department == row.department):
        raise Problem(404, f"no notification {notification_id} here")
    return NotificationOut.of(row, clock.now())


@router.post("/{notification_id}/acknowledgement", response_model=NotificationOut,
             summary="The notified department acknowledges receipt (签收)")
async def acknowledge(notification_id: str, request: Request,
                      principal: Principal = Depends(require(Role.DEPARTMENT, Role.OFFICE))):
    async with transaction(request) as tx:
        row = await handlers.acknowledge(registry_of(request), tx, notification_id, principal)
    return NotificationOut.of(row, clock.now())
