"""Case transfers to public security (行刑衔接) and cases the police send back."""

# No ``from __future__ import annotations``: FastAPI reads the body model of _step's endpoints at run time.
from typing import Any, Awaitable, Callable

from fastapi import APIRouter, Depends, Request

from jsp_common.outbox import SessionTx
from jsp_common.access import enforced
from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, principal_from_request

from ..deps import Deps
from ..usecases import access, transfers
from . import schemas
from .context import CONFLICT, TransferId

router = APIRouter(tags=["clues", "case transfers"], dependencies=[enforced("clues")])  # who may call: jsp_common.access


@router.get("/case-transfers/{transfer_id}", summary="One case transfer")
async def get_transfer(request: Request, transfer_id: str = TransferId,
                       principal: Principal = Depends(principal_from_request)) -> dict:
    async with reading(request) as session:
        return await transfers.load_transfer(session, transfer_id, principal, for_update=False)


Step = Callable[[Deps, SessionTx, str, Principal, Any], Awaitable[dict]]


def _step(path: str, name: str, summary: str, body_model: type, call: Step) -> None:
    """Register POST /case-transfers/{transfer_id}/<path>: ``call(deps, tx, transfer_id, principal, body)``."""
    async def endpoint(body: body_model, request: Request, transfer_id: str = TransferId,  # type: ignore[valid-type]
                       principal: Principal = Depends(principal_from_request)) -> dict:
        async with transaction(request) as tx:
            return await call(deps_of(request), tx, transfer_id, principal, body)

    endpoint.__name__ = name
    router.post(f"/case-transfers/{{transfer_id}}/{path}", summary=summary, responses=CONFLICT)(endpoint)


_step("approval", "transfer_approval",
      "The agency head approves (handover within 24 hours) or refuses with reasons", schemas.ApprovalBody,
      lambda d, tx, t, a, b: transfers.decide_transfer_approval(d, tx, t, a, approved=b.approved, reason=b.reason))
_step("handover", "transfer_handover", "Hand the case file to the police, with a copy to the procuratorate",
      schemas.HandoverBody, lambda d, tx, t, a, b: transfers.hand_over(d, tx, t, a, documents=b.documents))
_step("police-decision", "transfer_decision", "Public security records whether a criminal case is opened",
      schemas.PoliceDecisionBody,
      lambda d, tx, t, a, b: transfers.police_decision(d, tx, t, a, open_case=b.open_case, reason=b.reason,
                                                       case_ref=b.case_ref))


@router.post("/case-transfers/incoming", status_code=201,
             summary="Public security sends a case back for administrative handling; it becomes a clue")
async def incoming_case(body: schemas.IncomingCaseBody, request: Request,
                        principal: Principal = Depends(principal_from_request)) -> dict:
    deps = deps_of(request)
    async with transaction(request) as tx:
        clue, t = await transfers.receive_from_police(deps, tx, principal, case_ref=body.case_ref, fields=body,
                                                      documents=body.documents)
    return {"clue": access.view(deps.cipher, clue, principal), "transfer": t}
