"""The office's configuration: keyword routing rules and handling limits (deadline policies)."""

from fastapi import APIRouter, Depends, Request

from jsp_common.access import enforced
from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, principal_from_request

from ..usecases import configuration
from . import schemas
from .context import RuleId

router = APIRouter(tags=["clues", "configuration"], dependencies=[enforced("clues")])  # who may call: jsp_common.access


@router.get("/routing-rules", summary="Keyword routing rules")
async def list_rules(request: Request, principal: Principal = Depends(principal_from_request)) -> list[dict]:
    async with reading(request) as session:
        return await configuration.list_rules(session)


@router.post("/routing-rules", status_code=201, summary="Add a keyword routing rule")
async def add_rule(body: schemas.RuleBody, request: Request,
                   principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        row = await configuration.add_rule(tx, principal, body.model_dump(mode="json"))
    deps_of(request).config.invalidate()  # committed: the next clue is routed with it
    return row


@router.patch("/routing-rules/{rule_id}", summary="Change or disable a routing rule")
async def patch_rule(body: schemas.RulePatch, request: Request, rule_id: int = RuleId,
                     principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        row = await configuration.change_rule(tx, principal, rule_id, body.model_dump(mode="json", exclude_none=True))
    deps_of(request).config.invalidate()
    return row


@router.get("/deadline-policies", summary="Handling limits in working days")
async def list_policies(request: Request, principal: Principal = Depends(principal_from_request)) -> list[dict]:
    async with reading(request) as session:
        return await configuration.list_policies(session)


@router.put("/deadline-policies", summary="Set the limit for a channel, urgency and category")
async def put_policy(body: schemas.PolicyBody, request: Request,
                     principal: Principal = Depends(principal_from_request)) -> dict:
    async with transaction(request) as tx:
        await configuration.put_policy(tx, principal, channel=body.channel, urgency=body.urgency.value,
                                       category=body.category, workdays=body.workdays)
    deps_of(request).config.invalidate()
    return body.model_dump(mode="json")
