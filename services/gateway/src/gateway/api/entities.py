"""Entity 360: one call for one USCC, composed from the services (a part that is down is named, not fatal)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from jsp_common.http import deps_of
from jsp_common.principal import Principal, Role

from ..usecases import composition
from .forward import upstream_headers
from .security import require

router = APIRouter(tags=["composition"])
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"

# The parts besides the registry record: (name, service, path template, query parameters).
PARTS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("clues", "clues", "/clues", {"uscc": "{uscc}", "limit": "500"}),
)


class MissingPart(BaseModel):
    part: str
    reason: str


class Entity360(BaseModel):
    uscc: str
    registry: Any = None
    clues: Any = None
    missing: list[MissingPart]
    complete: bool


@router.get("/entities/{uscc}/360", response_model=Entity360,
            summary="The registry record of one entity and its clues; a part whose service is down is listed "
                    "in `missing`")
async def entity_360(request: Request, uscc: str = Path(pattern=USCC_PATTERN, description="统一社会信用代码"),
                     principal: Principal = Depends(require(Role.OFFICE, Role.DEPARTMENT))) -> dict:
    parts = [(name, service, path, {k: v.format(uscc=uscc) for k, v in params.items()})
             for name, service, path, params in PARTS]
    return await composition.entity_360(deps_of(request), uscc, principal, upstream_headers(request), parts=parts)
