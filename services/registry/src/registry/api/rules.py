"""Responsibility rules as data: read, publish a new version, dry-run a change (the office only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastAPIPath
from pydantic import BaseModel, Field, StrictBool, ValidationError

from jsp_common.envelope import field_errors
from jsp_common.access import enforced
from jsp_common.api_types import PRINTABLE
from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, principal_from_request
from jsp_common.problems import Problem

from ..domain.rules import Rule, RuleSet
from ..usecases import rule_publication
from ..usecases import rules as usecase

router = APIRouter(prefix="/rules", tags=["responsibility rules"], dependencies=[enforced("registry")])
office = principal_from_request  # who may call: jsp_common.access (the router checks it)


class RuleSetIn(BaseModel):
    rules: list[Rule]
    note: str | None = Field(None, max_length=2000, pattern=PRINTABLE)
    reassess: StrictBool = Field(False, description="re-decide existing rule-assigned entities under the new version")
    confirm: str | None = Field(None, max_length=500, pattern=PRINTABLE, description=(
        "needed only for a drastic change (an empty or nearly empty rule set, or one that moves a large share of "
        "the directory): the phrase a 409 answer or the dry-run's `confirmation.confirm` names"))


class DryRunIn(BaseModel):
    rules: list[Rule]


def _checked(rules: list[Rule]) -> list[dict]:
    try:
        RuleSet(rules=rules)
    except ValidationError as exc:
        errs = field_errors(exc)
        raise Problem(422, "the rule set is not valid: " + "; ".join(e["reason"] for e in errs), errors=errs) from None
    return [r.model_dump(mode="json") for r in rules]


@router.get("", summary="The rule set in force")
async def current(request: Request, principal: Principal = Depends(office)) -> dict:
    async with reading(request) as session:
        return await usecase.current(deps_of(request), session)


@router.get("/versions", summary="Every version, newest first (without the rules)")
async def versions(request: Request, principal: Principal = Depends(office)) -> list[dict]:
    async with reading(request) as session:
        return await usecase.versions(session)


# {version:int}: the path matches digits only, so GET /rules/dry-run is 405 (that path takes POST), not a version
@router.get("/{version:int}", summary="One version")
async def one(version: Annotated[int, FastAPIPath(ge=1, le=2**31 - 1)], request: Request, principal: Principal = Depends(office)) -> dict:
    async with reading(request) as session:
        return await usecase.version(session, version)


@router.put("", status_code=201, summary="Publish a new version of the rule set",
            responses={409: {"description": "A drastic change (empty or nearly empty rule set, or one that moves "
                                            "a large share of the directory) needs `confirm`: the answer names "
                                            "the consequence and the phrase"}})
async def publish(body: RuleSetIn, request: Request, principal: Principal = Depends(office)) -> dict:
    rules = _checked(body.rules)
    async with transaction(request) as tx:
        await rule_publication.check_confirmed(deps_of(request), tx.session, body.rules, body.confirm)
        version = await usecase.publish(deps_of(request), tx, rules, body.note, body.reassess, principal)
    return {"version": version, "reassess": body.reassess}


@router.post("/dry-run", summary="Which entities a proposed rule set would move, without changing anything")
async def dry_run(body: DryRunIn, request: Request, limit: int = Query(100, ge=0, le=10000),
                  principal: Principal = Depends(office)) -> dict:
    _checked(body.rules)
    async with transaction(request) as tx:
        run, confirmation = await rule_publication.assess(deps_of(request), tx.session, body.rules, limit=limit)
    return {**run, "confirmation": confirmation}
