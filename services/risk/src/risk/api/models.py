"""The risk model's versions (indicators, weights, warning levels, response plans, metrics, credit rules): the
office reads them, tries a proposal (how many entities each level would hold) and saves a new version."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request

from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, Role, require

from ..adapters import model_rows
from ..domain.model import RiskModel
from ..usecases import models
from . import schemas

router = APIRouter(tags=["models"])
OFFICE = Depends(require(Role.OFFICE))


@router.get("/models", summary="Office: every version of the risk model")
async def list_models(request: Request, principal: Principal = OFFICE) -> list[dict]:
    async with reading(request) as session:
        return await model_rows.list_models(session)


@router.get("/models/current", summary="Office: the version in force")
async def current(request: Request, principal: Principal = OFFICE) -> dict:
    async with reading(request) as session:
        return await models.current(session)


# {version:int}: the path matches digits only, so GET /models/dry-run is 405 (that path takes POST), not a version
@router.get("/models/{version:int}", summary="Office: one version")
async def get(request: Request, version: int = Path(ge=1, le=2**31 - 1), principal: Principal = OFFICE) -> dict:
    async with reading(request) as session:
        return await models.get(session, version)


@router.post("/models/dry-run", summary="Office: how many entities each level would hold under a proposed model")
async def dry_run(body: RiskModel, request: Request, principal: Principal = OFFICE) -> dict:
    async with transaction(request) as tx:
        return await models.dry_run(tx, body)


@router.post("/models", status_code=201, summary="Office: save a new version, in force from now")
async def save(body: schemas.ModelBody, request: Request, principal: Principal = OFFICE) -> dict:
    async with transaction(request) as tx:
        return await models.save(deps_of(request), tx, body.model, note=body.note, actor=principal)
