"""The audit log, for the task-force office: read-only (there is no route that edits or deletes)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from jsp_common.http import reading
from jsp_common.principal import Principal, Role

from ..usecases import audit
from .fields import Text, Timestamp
from .security import require

router = APIRouter(tags=["audit"])


class AuditEntry(BaseModel):
    id: int
    at: datetime
    request_id: str | None = None
    trace_id: str | None = None
    subject: str | None = None
    kind: str | None = None
    department: str | None = None
    roles: list[str] | None = None
    method: str
    route: str
    path: str
    object_id: str | None = None
    status: int
    outcome: str
    client_ip: str | None = None
    duration_ms: int | None = None


@router.get("/audit", response_model=list[AuditEntry], summary="Query the audit log (newest first)")
async def query(request: Request,
                subject: Text | None = Query(None, max_length=200, description="client id of the caller"),
                object_id: Text | None = Query(None, max_length=200, description="e.g. a USCC or a clue id"),
                route: Text | None = Query(None, max_length=300, description="route template, e.g. /ingest/registrations"),
                outcome: Text | None = Query(None, max_length=40),
                since: Timestamp | None = None, until: Timestamp | None = None,
                before_id: int | None = Query(None, ge=1, le=2**62, description="paging: entries older than this id"),
                limit: int = Query(100, ge=1, le=1000),
                who: Principal = Depends(require(Role.OFFICE))) -> list[AuditEntry]:
    async with reading(request) as session:
        rows = await audit.query(session, subject=subject, object_id=object_id, route=route, outcome=outcome,
                                 since=since, until=until, before_id=before_id, limit=limit)
    return [AuditEntry(**r) for r in rows]
