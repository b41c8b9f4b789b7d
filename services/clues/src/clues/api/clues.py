"""Clues: reading them, and the actions of the departments, the office and the hotline on them.

A department sees and acts only on clues dispatched to it (others: 404); the office sees all and
dispatches, arbitrates and approves extensions; the hotline reads its own work orders and their replies.
An action the clue's state does not allow: 409 with the reason.
"""

# No ``from __future__ import annotations``: FastAPI reads the body model of _action's endpoints at run time.
from typing import Any, Awaitable, Callable

from fastapi import APIRouter, Depends, Path, Query, Request

from jsp_common.events.clues import Channel
from jsp_common.outbox import SessionTx
from jsp_common.access import enforced
from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, principal_from_request

from ..deps import Deps
from ..domain.lifecycle import State
from ..usecases import access, dispatch, extensions, handling, replies, transfers, views
from . import schemas
from .context import CONFLICT, ID, ClueId, ExtId

router = APIRouter(tags=["clues"], dependencies=[enforced("clues")])  # who may call: jsp_common.access


# ------------------------------------------------------------------ reading
@router.get("/clues", summary="Clues the caller may see (a department: those dispatched to it)")
async def list_clues(request: Request, state: State | None = None, channel: Channel | None = None,
                     uscc: str | None = Query(None, pattern=r"^[0-9A-Z]{18}$", description="the business concerned"),
                     limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
                     principal: Principal = Depends(principal_from_request)) -> list[dict]:
    async with reading(request) as session:
        return await views.list_clues(deps_of(request).cipher, session, principal, state=state, channel=channel,
                                      uscc=uscc, limit=limit, offset=offset)


@router.get("/queue/manual-dispatch", summary="The office's manual dispatch queue: unroutable and returned clues, "
                                              "the longest waiting first")
async def manual_queue(request: Request, limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
                       principal: Principal = Depends(principal_from_request)) -> list[dict]:
    async with reading(request) as session:
        return await views.manual_queue(deps_of(request).cipher, session, principal, limit=limit, offset=offset)


@router.get("/clues/{clue_id}", summary="One clue (personal details in clear only for the office and hotline)")
async def get_clue(request: Request, clue_id: str = ClueId, principal: Principal = Depends(principal_from_request)) -> dict:
    async with reading(request) as session:
        return await views.clue_detail(deps_of(request).cipher, session, clue_id, principal)


@router.get("/work-orders/{work_order_no}/reply", summary="The hotline reads the outcome of its own work order")
async def work_order_reply(request: Request, work_order_no: str = Path(pattern=ID),
                           principal: Principal = Depends(principal_from_request)) -> dict:
    async with reading(request) as session:
        return await views.work_order_reply(session, work_order_no)


# ------------------------------------------------------------------ actions
Action = Callable[[Deps, SessionTx, str, Principal, Any], Awaitable[dict]]


def _action(path: str, summary: str, body_model: type | None, call: Action) -> None:
    """Register POST /clues/{clue_id}/<path>: ``call(deps, tx, clue_id, principal, body)`` in one transaction;
    the answer is the clue as the caller may see it (or what the use case returns when it is not a clue)."""

    async def run(request: Request, clue_id: str, principal: Principal, body: Any) -> dict:
        deps = deps_of(request)
        async with transaction(request) as tx:
            out = await call(deps, tx, clue_id, principal, body)
        return access.view(deps.cipher, out, principal) if "channel_ref" in out else out

    if body_model is None:
        async def endpoint(request: Request, clue_id: str = ClueId,
                           principal: Principal = Depends(principal_from_request)) -> dict:
            return await run(request, clue_id, principal, None)
    else:
        async def endpoint(body: body_model, request: Request, clue_id: str = ClueId,  # type: ignore[valid-type]
                           principal: Principal = Depends(principal_from_request)) -> dict:
            return await run(request, clue_id, principal, body)

    endpoint.__name__ = path.replace("-", "_")
    router.post(f"/clues/{{clue_id}}/{path}", summary=summary, responses=CONFLICT)(endpoint)


_action("dispatch", "Office: dispatch a queued clue, re-dispatch a returned one, or arbitrate", schemas.DispatchBody,
        lambda d, tx, c, a, b: dispatch.dispatch(d, tx, c, a, lead=b.lead, co=b.co, domain=b.domain, note=b.note,
                                                 arbitrate=b.arbitrate))
_action("accept", "Lead department: accept the clue", None, lambda d, tx, c, a, b: handling.accept(d, tx, c, a))
_action("return", "Lead department: return a misrouted clue (退回) with the reason", schemas.ReturnBody,
        lambda d, tx, c, a, b: handling.return_clue(d, tx, c, a, reason=b.reason))
_action("verify", "Lead department: start verification (核查)", None,
        lambda d, tx, c, a, b: handling.start_verification(d, tx, c, a))
_action("handle", "Lead department: record the finding and the measures taken", schemas.HandleBody,
        lambda d, tx, c, a, b: handling.record_finding(d, tx, c, a, finding=b.finding, measures=b.measures))
_action("reply", "Publish the outcome to the source channel (答复)", schemas.ReplyBody,
        lambda d, tx, c, a, b: replies.reply(d, tx, c, a, text=b.text))
_action("close", "Close a replied clue (办结)", None, lambda d, tx, c, a, b: replies.close(d, tx, c, a))
_action("revisit", "Record the revisit (回访); unsatisfied reopens the clue", schemas.RevisitBody,
        lambda d, tx, c, a, b: replies.revisit(d, tx, c, a, satisfied=b.satisfied, comment=b.comment))
_action("extensions", "Lead department: request an extension (延期) in working days", schemas.ExtensionBody,
        lambda d, tx, c, a, b: extensions.request_extension(d, tx, c, a, workdays=b.workdays, reason=b.reason))
_action("case-transfers", "Lead department: transfer the case to public security (行刑衔接)", schemas.TransferBody,
        lambda d, tx, c, a, b: transfers.request_transfer(d, tx, c, a, documents=b.documents, team=b.team,
                                                          police_department=b.police_department))


@router.post("/clues/{clue_id}/extensions/{ext_id}/decision", summary="Office: approve or refuse an extension",
             responses=CONFLICT)
async def decide_extension(body: schemas.DecisionBody, request: Request, clue_id: str = ClueId,
                           ext_id: int = ExtId,
                           principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        return await extensions.decide_extension(deps_of(request), tx, clue_id, ext_id, principal,
                                                 approved=body.approved, note=body.note)
