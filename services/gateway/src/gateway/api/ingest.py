"""Ingest routes: the bureau's registration events and the hotline's work orders, over HTTP, onto the same
topics with the same envelope. ``Idempotency-Key`` makes a resent POST have one effect."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from jsp_common import contracts_export
from jsp_common.api_types import Timestamp
from jsp_common.http import transaction
from jsp_common.principal import Principal

from ..usecases import ingest
from ..domain.ingest import FEEDS, Feed
from .fields import Text
from .security import require

router = APIRouter(prefix="/ingest", tags=["ingest"])
EVENT_SCHEMA_PREFIX = "Event_"  # the event contracts' data schemas, as components of the OpenAPI document


class IngestEvent(BaseModel):
    type: str = Field(max_length=200, description="the CloudEvents type, e.g. market.entity.registered.v1")
    data: dict[str, Any] = Field(description="the event's data, as its published contract (docs/schemas) says")
    id: Text | None = Field(None, min_length=1, max_length=200,
                           description="the sender's own event id (default: derived from the Idempotency-Key)")
    time: Timestamp | None = Field(None, description="when the sender produced the event, with its offset "
                                                    "(default: now)")


class IngestAccepted(BaseModel):
    event_id: str
    type: str
    topic: str
    key: str | int | None = None
    status: str = "accepted"
    trace_id: str | None = None


def _route(feed: Feed):
    async def post(request: Request, body: IngestEvent,
                   idempotency_key: Text | None = Header(None, min_length=1, max_length=200,
                                                        description="resending with the same key has one effect"),
                   principal: Principal = Depends(require(feed.role))) -> JSONResponse:
        async with transaction(request, once=False) as tx:  # its own record replays the first answer
            status, answer, replayed = await ingest.ingest(
                tx, principal, feed, body.model_dump(mode="json", exclude_none=True),
                idempotency_key=idempotency_key, route=f"/ingest/{feed.name}")
        request.state.audit_object = answer.get("event_id")
        return JSONResponse(answer, status_code=status,
                            headers={"Idempotent-Replayed": "true"} if replayed else None)

    types = ", ".join(f"`{t}`" for t in feed.event_types)
    router.add_api_route(
        f"/{feed.name}", post, methods=["POST"], status_code=202, response_model=IngestAccepted,
        summary=feed.summary, name=f"ingest_{feed.name.replace('-', '_')}",
        description=f"Queues one event on `{feed.topic}` (types: {types}) after checking it against its "
                    "contract. 202 means the event is committed for publication; the receipt comes on the "
                    "receipts topic as for events sent on Kafka.",
        responses={202: {"description": "accepted (or replayed: header Idempotent-Replayed: true)"},
                   409: {"description": "this Idempotency-Key was used for a different request"}},
        openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"oneOf": [
            {"type": "object", "required": ["type", "data"],
             "properties": {"type": {"const": t}, "data": {"$ref": f"#/components/schemas/{EVENT_SCHEMA_PREFIX}"
                                                                   f"{contracts_export.data_schema_name(t)}"}}}
            for t in feed.event_types]}}}}})


for _feed in FEEDS:
    _route(_feed)
