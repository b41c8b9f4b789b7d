"""Risk alerts through the gateway: the office sees all, a department the alerts about entities it is
responsible for (another department's alert: 404); departments acknowledge and record their response."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from jsp_common import api_types
from jsp_common.events.risk import WarningLevel
from jsp_common.http import reading, transaction
from jsp_common.principal import Principal, Role, principal_from_request, require
from jsp_common.problems import Problem

from ..adapters import alert_rows
from ..usecases import alerts
from . import schemas
from .context import ALERT_ID

router = APIRouter(tags=["alerts"])
CONFLICT = {409: {"description": "The alert is closed (problem+json)"}}


@router.get("/alerts", summary="Alerts the caller may see (a department: about entities it is responsible for)")
async def list_alerts(request: Request, level: WarningLevel | None = None,
                      state: Literal["open", "acknowledged", "responded", "closed", "unclosed"] | None = None,
                      uscc: str | None = Query(None, pattern=api_types.USCC_PATTERN),
                      limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
                      principal: Principal = Depends(require(Role.OFFICE, Role.DEPARTMENT))) -> list[dict]:
    department = None if principal.has(Role.OFFICE) else principal.department
    if department is None and not principal.has(Role.OFFICE):
        raise Problem(403, "a department account without a department sees no alerts")
    async with reading(request) as session:
        return await alert_rows.list_alerts(session, department=department, level=level, state=state, uscc=uscc,
                                      limit=limit, offset=offset)


@router.get("/alerts/{alert_id}", summary="One alert with its history")
async def get_alert(request: Request, alert_id: str = ALERT_ID,
                    principal: Principal = Depends(principal_from_request)) -> dict:
    async with reading(request) as session:
        alert = await alerts.load(session, alert_id, principal)
        return {**alert, "history": await alert_rows.alert_history_of(session, alert_id)}


@router.post("/alerts/{alert_id}/acknowledgement", summary="A responsible department acknowledges the alert (签收)",
             responses=CONFLICT)
async def acknowledge(request: Request, alert_id: str = ALERT_ID,
                      principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        return await alerts.acknowledge(tx, alert_id, principal)


@router.post("/alerts/{alert_id}/response", summary="A responsible department records its response (处置)",
             responses=CONFLICT)
async def respond(body: schemas.ResponseBody, request: Request, alert_id: str = ALERT_ID,
                  principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        return await alerts.respond(tx, alert_id, principal, measures=body.measures)
