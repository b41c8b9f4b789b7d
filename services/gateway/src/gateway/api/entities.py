"""Entity 360: one call for one USCC, composed from the services (a part that is down is named, not fatal)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from jsp_common.api_types import USCC_PATTERN
from jsp_common.events.risk import UNRATED_CLASS
from jsp_common.http import deps_of
from jsp_common.principal import Principal, Role

from ..domain.composition import PartSpec
from ..usecases import composition
from .forward import upstream_headers
from .security import require

router = APIRouter(tags=["composition"])

# The parts besides the registry record. The credit class of an entity the risk service knows nothing of yet
# is the class every service gives it then.
PARTS = (PartSpec("clues", "clues", "/clues", {"uscc": "{uscc}", "limit": "500"}),
         PartSpec("credit", "risk", "/entities/{uscc}/credit-class",
                  when_absent={"credit_class": UNRATED_CLASS.value, "rated": False}))


class MissingPart(BaseModel):
    part: str
    reason: str


class Entity360(BaseModel):
    uscc: str
    registry: Any = None
    clues: Any = None
    credit: Any = Field(None, description="the risk service's credit class with why (`rated: false`: no class "
                                          f"published yet, the entity counts as {UNRATED_CLASS.value})")
    missing: list[MissingPart]
    complete: bool


@router.get("/entities/{uscc}/360", response_model=Entity360,
            summary="The registry record of one entity, its clues and its credit class; a part whose service is "
                    "down is listed in `missing`")
async def entity_360(request: Request, uscc: str = Path(pattern=USCC_PATTERN, description="统一社会信用代码"),
                     principal: Principal = Depends(require(Role.OFFICE, Role.DEPARTMENT))) -> dict:
    return await composition.entity_360(deps_of(request), uscc, principal, upstream_headers(request),
                                        parts=[p.about(uscc) for p in PARTS])
