"""Entity 360: the registry record of one USCC and the other services' parts, fetched concurrently; a part
that cannot be had is named in ``missing`` instead of failing the whole answer."""

from __future__ import annotations

import asyncio

from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters.upstream import UpstreamError
from ..deps import Deps
from ..domain import composition


async def _part(deps: Deps, name: str, service: str, path: str, principal: Principal, headers: dict,
                params=None) -> composition.Part:
    try:
        resp = await deps.upstreams[service].request("GET", path, principal=principal, params=params, headers=headers)
    except UpstreamError as exc:
        return composition.Part(name, 0, reason=str(exc))
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.is_success:
        return composition.Part(name, resp.status_code, body)
    detail = body.get("detail") if isinstance(body, dict) else None
    return composition.Part(name, resp.status_code, reason=f"the {service} service answered {resp.status_code}"
                                                           + (f": {detail}" if detail else ""))


async def entity_360(deps: Deps, uscc: str, principal: Principal, headers: dict, *,
                     parts: list[composition.PartSpec]) -> dict:
    """On behalf of ``principal``; ``parts``: the parts besides the registry record."""
    record, *others = await asyncio.gather(
        _part(deps, "registry", "registry", f"/entities/{uscc}", principal, headers),
        *(_part(deps, p.name, p.service, p.path, principal, headers, p.params) for p in parts))
    others = [composition.only_about(uscc, part if spec.when_absent is None else
                                     composition.absent_as(part, spec.when_absent))
              for spec, part in zip(parts, others)]
    try:
        return composition.compose(uscc, record, others)
    except composition.EntityNotFound:
        raise Problem(404, f"no entity {uscc} visible to you") from None
