"""Responsibility rules as data: read, publish a new version, dry-run a change (the office only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastAPIPath
from pydantic import BaseModel, Field, ValidationError

from jsp_common.envelope import field_errors
from jsp_common.principal import Principal, Role, require
from jsp_common.problems import Problem

from ..domain.rules import CompiledRules, Rule, RuleSet
from ..usecases import rules as usecase
from .deps import deps_of, transaction

router = APIRouter(prefix="/rules", tags=["responsibility rules"])
office = require(Role.OFFICE)


class RuleSetIn(BaseModel):
    rules: list[Rule]
    note: str | None = Field(None, max_length=2000)
    reassess: bool = Field(False, description="re-decide existing rule-assigned entities under the new version")


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
    async with transaction(request) as tx:
        return await usecase.current(deps_of(request), tx.session)


@router.get("/versions", summary="Every version, newest first (without the rules)")
async def versions(request: Request, principal: Principal = Depends(office)) -> list[dict]:
    async with transaction(request) as tx:
        return await usecase.versions(tx.session)


@router.get("/{version}", summary="One version")
async def one(version: Annotated[int, FastAPIPath(ge=1, le=2**31 - 1)], request: Request, principal: Principal = Depends(office)) -> dict:
    async with transaction(request) as tx:
        return await usecase.version(tx.session, version)


@router.put("", status_code=201, summary="Publish a new version of the rule set")
async def publish(body: RuleSetIn, request: Request, principal: Principal = Depends(office)) -> dict:
    rules = _checked(body.rules)
    async with transaction(request) as tx:
        version = await usecase.publish(deps_of(request), tx, rules, body.note, body.reassess, principal)
    return {"version": version, "reassess": body.reassess}


@router.post("/dry-run", summary="Which entities a proposed rule set would move, without changing anything")
async def dry_run(body: DryRunIn, request: Request, limit: int = Query(100, ge=0, le=10000),
                  principal: Principal = Depends(office)) -> dict:
    _checked(body.rules)
    async with transaction(request) as tx:
        current = await deps_of(request).rules.get(tx.session)
        return await usecase.dry_run(tx.session, current, CompiledRules(0, body.rules), limit=limit)
