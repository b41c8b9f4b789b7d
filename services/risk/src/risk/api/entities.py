"""An entity's risk standing and credit class (with why), the office's correction, and monitoring devices."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.http import deps_of, reading, transaction
from jsp_common.principal import Principal, Role, require
from jsp_common.problems import Problem

from ..adapters import monitoring as mon
from ..adapters import repository as repo
from ..usecases import credit, monitoring
from . import schemas
from .context import DEVICE_ID, USCC, valid_uscc

router = APIRouter(tags=["entities"])


async def _visible(session: AsyncSession, uscc: str, principal: Principal) -> None:
    """A department sees the entities it is responsible for (per the registry, or named by the events)."""
    if principal.has(Role.OFFICE):
        return
    entity = await repo.entity(session, uscc)
    standing = await repo.standing(session, uscc)
    named = set(entity["responsible_departments"] if entity else []) | set(standing["departments"] if standing else [])
    if principal.department not in named:
        raise Problem(404, f"no entity {uscc} among those your department is responsible for")


@router.get("/entities/{uscc}/credit-class", summary="The entity's credit class and why: inputs, rules, correction")
async def explain(request: Request, uscc: str = USCC,
                  principal: Principal = Depends(require(Role.OFFICE, Role.DEPARTMENT))) -> dict:
    valid_uscc(uscc)

    async with reading(request) as session:
        await _visible(session, uscc, principal)
        return await credit.explain(session, uscc)


@router.post("/entities/{uscc}/credit-class/correction",
             summary="Office: set the entity's class by hand with a reason (null: back to the computed class)",
             responses={404: {"description": "A USCC the directory does not hold and nothing was observed about "
                                              "(problem+json; nothing written)"},
                        409: {"description": "Nothing to undo (problem+json)"}})
async def correct(body: schemas.CorrectionBody, request: Request, uscc: str = USCC,
                  principal: Principal = Depends(require(Role.OFFICE))) -> dict:
    valid_uscc(uscc)
    async with transaction(request) as tx:
        return await credit.correct(tx, uscc, principal, credit_class=body.credit_class, reason=body.reason)


@router.put("/devices/{device_id}", responses={409: {"description": "The metric is not in the risk model in force "
                                                                  "(problem+json naming the known ones)"}},
            summary="Office: register a monitoring device to an entity (its metric)")
async def register_device(body: schemas.DeviceBody, request: Request, device_id: str = DEVICE_ID,
                          principal: Principal = Depends(require(Role.OFFICE))) -> dict:
    async with transaction(request) as tx:
        return await monitoring.register_device(deps_of(request), tx, device_id, uscc=body.uscc, metric=body.metric,
                                                actor=principal)


@router.get("/devices/{device_id}", summary="Office: a monitoring device's registration")
async def get_device(request: Request, device_id: str = DEVICE_ID,
                     principal: Principal = Depends(require(Role.OFFICE))) -> dict:
    async with reading(request) as session:
        found = await mon.device(session, device_id)
    if found is None:
        raise Problem(404, f"no device {device_id}")
    return found
