"""The clues API, called by the gateway with the caller in ``X-JSP-Principal``.

A department sees and acts only on clues dispatched to it (others: 404); the office sees all and
dispatches, arbitrates and approves extensions; the hotline reads its own work orders and their replies.
An action the clue's state does not allow: 409 with the reason.
"""


from typing import Any, Awaitable, Callable

from fastapi import APIRouter, Depends, Path, Query, Request

from jsp_common import departments
from jsp_common.events.clues import Channel
from jsp_common.http import get_runtime
from jsp_common.access import enforced
from jsp_common.principal import Principal, Role, principal_from_request
from jsp_common.outbox import SessionTx
from jsp_common.problems import Problem

from .. import handlers
from ..adapters import repository as repo
from ..handlers import Deps
from . import schemas

router = APIRouter(tags=["clues"], dependencies=[enforced("clues")])  # who may call: jsp_common.access

ID = r"^[A-Za-z0-9_\-.:]{1,64}$"
ClueId = Path(pattern=ID, description="clue id, e.g. CL20260302-0123456789ab")
TransferId = Path(pattern=ID)
# One Path() object per parameter: FastAPI names a shared one after the first parameter it meets.
ExtId = Path(ge=1, le=2**31 - 1, description="extension request id")
RuleId = Path(ge=1, le=2**31 - 1, description="routing rule id")
CONFLICT = {409: {"description": "The current state does not allow this action (problem+json, with the state)"}}


def _deps(request: Request) -> Deps:
    return get_runtime(request).deps  # type: ignore[attr-defined]


async def _in_tx(deps: Deps, fn: Callable[[SessionTx], Awaitable[Any]]) -> Any:
    async with deps.db.transaction() as session:
        return await fn(SessionTx(session, deps.source))


# ------------------------------------------------------------------ reading
@router.get("/clues", summary="Clues the caller may see (a department: those dispatched to it)")
async def list_clues(request: Request, state: str | None = Query(None, pattern=r"^[a-z_]{1,30}$"),
                     channel: str | None = Query(None, pattern=r"^[a-z_]{1,30}$"),
                     uscc: str | None = Query(None, pattern=r"^[0-9A-Z]{18}$", description="the business concerned"),
                     limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
                     principal: Principal = Depends(principal_from_request)) -> list[dict]:
    deps = _deps(request)
    if principal.has(Role.OFFICE):
        department = None
    elif principal.has(Role.DEPARTMENT) and principal.department:
        department = principal.department
    elif principal.has(Role.HOTLINE):
        department, channel = None, Channel.HOTLINE.value
    else:
        raise Problem(403, "clues are for the office, the departments and the hotline")
    async with deps.db.transaction() as session:
        rows = await repo.list_clues(session, department=department, channel=channel, state=state, uscc=uscc,
                                     limit=limit, offset=offset)
    return [handlers.view(deps, r, principal) for r in rows]


@router.get("/queue/manual-dispatch", summary="The office's manual dispatch queue: unroutable and returned clues")
async def manual_queue(request: Request, principal: Principal = Depends(principal_from_request)) -> list[dict]:
    deps = _deps(request)
    async with deps.db.transaction() as session:
        rows = (await repo.list_clues(session, state="pending_dispatch", limit=500)
                + await repo.list_clues(session, state="returned", limit=500))
    return [handlers.view(deps, r, principal) for r in rows]


@router.get("/clues/{clue_id}", summary="One clue (personal details in clear only for the office and hotline)")
async def get_clue(request: Request, clue_id: str = ClueId, principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    async with deps.db.transaction() as session:
        clue = await handlers.load(SessionTx(session, deps.source), clue_id, principal, for_update=False)
        out = handlers.view(deps, clue, principal)
        out["history"] = await repo.history(session, clue_id)
        out["extensions"] = await repo.list_extensions(session, clue_id)
        out["case_transfers"] = await repo.transfers_of_clue(session, clue_id)
    return out


@router.get("/work-orders/{work_order_no}/reply", summary="The hotline reads the outcome of its own work order")
async def work_order_reply(request: Request, work_order_no: str = Path(pattern=ID),
                           principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    async with deps.db.transaction() as session:
        clue = await repo.clue_by_ref(session, Channel.HOTLINE.value, work_order_no)
    if clue is None:
        raise Problem(404, f"no work order {work_order_no}")
    return {"work_order_no": work_order_no, "clue_id": clue["id"], "state": clue["state"],
            "finding": clue["finding"], "measures": clue["measures"], "reply_text": clue["reply_text"],
            "replied_at": clue["replied_at"], "duplicate_of": clue["duplicate_of"],
            "lead_department": clue["lead_department"], "satisfaction": clue["satisfaction"]}


# ------------------------------------------------------------------ actions
def _action(path: str, summary: str, body_model, call):
    """Register POST /clues/{clue_id}/<path>: runs ``call(deps, tx, clue_id, principal, body)`` in one transaction."""

    if body_model is None:
        async def endpoint(request: Request, clue_id: str = ClueId,
                           principal: Principal = Depends(principal_from_request)) -> dict:
            deps = _deps(request)
            clue = await _in_tx(deps, lambda tx: call(deps, tx, clue_id, principal, None))
            return handlers.view(deps, clue, principal)
    else:
        async def endpoint(body: body_model, request: Request, clue_id: str = ClueId,  # type: ignore[valid-type]
                           principal: Principal = Depends(principal_from_request)) -> dict:
            deps = _deps(request)
            clue = await _in_tx(deps, lambda tx: call(deps, tx, clue_id, principal, body))
            return handlers.view(deps, clue, principal) if "channel_ref" in clue else clue

    endpoint.__name__ = path.replace("-", "_")
    router.post(f"/clues/{{clue_id}}/{path}", summary=summary, responses=CONFLICT)(endpoint)


_action("dispatch", "Office: dispatch a queued clue, re-dispatch a returned one, or arbitrate", schemas.DispatchBody,
        lambda d, tx, c, a, b: handlers.dispatch(d, tx, c, a, lead=b.lead, co=b.co, domain=b.domain, note=b.note,
                                                 arbitrate=b.arbitrate))
_action("accept", "Lead department: accept the clue", None, lambda d, tx, c, a, b: handlers.accept(d, tx, c, a))
_action("return", "Lead department: return a misrouted clue (退回) with the reason", schemas.ReturnBody,
        lambda d, tx, c, a, b: handlers.return_clue(d, tx, c, a, reason=b.reason))
_action("verify", "Lead department: start verification (核查)", None,
        lambda d, tx, c, a, b: handlers.start_verification(d, tx, c, a))
_action("handle", "Lead department: record the finding and the measures taken", schemas.HandleBody,
        lambda d, tx, c, a, b: handlers.handle(d, tx, c, a, finding=b.finding, measures=b.measures))
_action("reply", "Publish the outcome to the source channel (答复)", schemas.ReplyBody,
        lambda d, tx, c, a, b: handlers.reply(d, tx, c, a, text=b.text))
_action("close", "Close a replied clue (办结)", None, lambda d, tx, c, a, b: handlers.close(d, tx, c, a))
_action("revisit", "Record the revisit (回访); unsatisfied reopens the clue", schemas.RevisitBody,
        lambda d, tx, c, a, b: handlers.revisit(d, tx, c, a, satisfied=b.satisfied, comment=b.comment))
_action("extensions", "Lead department: request an extension (延期) in working days", schemas.ExtensionBody,
        lambda d, tx, c, a, b: handlers.request_extension(d, tx, c, a, workdays=b.workdays, reason=b.reason))
_action("case-transfers", "Lead department: transfer the case to public security (行刑衔接)", schemas.TransferBody,
        lambda d, tx, c, a, b: handlers.request_transfer(d, tx, c, a, documents=b.documents, team=b.team,
                                                         police_department=b.police_department))


@router.post("/clues/{clue_id}/extensions/{ext_id}/decision", summary="Office: approve or refuse an extension",
             responses=CONFLICT)
async def decide_extension(body: schemas.DecisionBody, request: Request, clue_id: str = ClueId,
                           ext_id: int = ExtId,
                           principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    return await _in_tx(deps, lambda tx: handlers.decide_extension(deps, tx, clue_id, ext_id, principal,
                                                                   approved=body.approved, note=body.note))


# ------------------------------------------------------------------ case transfers
@router.get("/case-transfers/{transfer_id}", tags=["case transfers"], summary="One case transfer")
async def get_transfer(request: Request, transfer_id: str = TransferId,
                       principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    t = await _in_tx(deps, lambda tx: handlers.load_transfer(tx, transfer_id, principal, for_update=False))
    return t


@router.post("/case-transfers/{transfer_id}/approval", tags=["case transfers"],
             summary="The agency head approves (handover within 24 hours) or refuses with reasons", responses=CONFLICT)
async def transfer_approval(body: schemas.ApprovalBody, request: Request, transfer_id: str = TransferId,
                            principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    return await _in_tx(deps, lambda tx: handlers.decide_transfer_approval(
        deps, tx, transfer_id, principal, approved=body.approved, reason=body.reason))


@router.post("/case-transfers/{transfer_id}/handover", tags=["case transfers"],
             summary="Hand the case file to the police, with a copy to the procuratorate", responses=CONFLICT)
async def transfer_handover(body: schemas.HandoverBody, request: Request, transfer_id: str = TransferId,
                            principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    return await _in_tx(deps, lambda tx: handlers.hand_over(deps, tx, transfer_id, principal,
                                                            documents=body.documents))


@router.post("/case-transfers/{transfer_id}/police-decision", tags=["case transfers"],
             summary="Public security records whether a criminal case is opened", responses=CONFLICT)
async def transfer_decision(body: schemas.PoliceDecisionBody, request: Request, transfer_id: str = TransferId,
                            principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    return await _in_tx(deps, lambda tx: handlers.police_decision(
        deps, tx, transfer_id, principal, open_case=body.open_case, reason=body.reason,
        case_ref=body.case_ref))


@router.post("/case-transfers/incoming", tags=["case transfers"], status_code=201,
             summary="Public security sends a case back for administrative handling; it becomes a clue")
async def incoming_case(body: schemas.IncomingCaseBody, request: Request,
                        principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    clue, t = await _in_tx(deps, lambda tx: handlers.receive_from_police(
        deps, tx, principal, case_ref=body.case_ref, fields=body, documents=body.documents))
    return {"clue": handlers.view(deps, clue, principal), "transfer": t}


# ------------------------------------------------------------------ rules and policies (office)
@router.get("/routing-rules", tags=["configuration"], summary="Keyword routing rules")
async def list_rules(request: Request, principal: Principal = Depends(principal_from_request)) -> list[dict]:
    deps = _deps(request)
    async with deps.db.transaction() as session:
        return await repo.list_rules(session)


def _check_agencies(*codes: str) -> None:
    for c in codes:
        try:
            departments.agency(c)
        except departments.UnknownDepartment as exc:
            raise Problem(422, str(exc), errors=[{"field": "lead_agency/co_agencies", "reason": str(exc)}]) from None


@router.post("/routing-rules", tags=["configuration"], status_code=201, summary="Add a keyword routing rule")
async def add_rule(body: schemas.RuleBody, request: Request,
                   principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    _check_agencies(body.lead_agency, *body.co_agencies)
    async with deps.db.transaction() as session:
        row = await repo.add_rule(session, **body.model_dump(mode="json"), updated_by=principal.subject)
    deps.config.invalidate()
    return row


@router.patch("/routing-rules/{rule_id}", tags=["configuration"], summary="Change or disable a routing rule")
async def patch_rule(body: schemas.RulePatch, request: Request, rule_id: int = RuleId,
                     principal: Principal = Depends(principal_from_request)) -> dict:
    deps = _deps(request)
    values = body.model_dump(mode="json", exclude_none=True)
    _check_agencies(*([values["lead_agency"]] if "lead_agency" in values else []), *values.get("co_agencies", []))
    async with deps.db.transaction() as session:
        row = await repo.update_rule(session, rule_id, **values, updated_by=principal.subject)
    if row is None:
        raise Problem(404, f"no routing rule {rule_id}")
    deps.config.invalidate()
    return row


@router.get("/deadline-policies", tags=["configuration"], summary="Handling limits in working days")
async def list_policies(request: Request, principal: Principal = Depends(principal_from_request)) -> list[dict]:
    deps = _deps(request)
    async with deps.db.transaction() as session:
        return await repo.list_policies(session)


@router.put("/deadline-policies", tags=["configuration"], summary="Set the limit for a channel and urgency")
async def put_policy(body: schemas.PolicyBody, request: Request,
                     principal: Principal = Depends(principal_from_request)) -> dict:
    if body.channel != "*" and body.channel not in {c.value for c in Channel}:
        raise Problem(422, f"unknown channel {body.channel!r}", errors=[{"field": "channel", "reason": "unknown"}])
    deps = _deps(request)
    async with deps.db.transaction() as session:
        await repo.put_policy(session, body.channel, body.urgency.value, body.workdays, principal.subject)
    deps.config.invalidate()
    return body.model_dump(mode="json")
