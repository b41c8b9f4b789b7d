"""Who may call which service route: the one route × role matrix.

The gateway publishes exactly these routes (``/<service><path>``; a route not listed is not reachable from
outside) and checks the roles before it forwards a call; each service checks the same roles on the same
routes (each service's routers carry :func:`enforced`), so the two cannot disagree. The services
still scope objects themselves (a department asking for another department's object gets 404).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from typing import Any

from fastapi import Depends, Request

from .principal import Principal, Role, verified_principal
from .problems import Problem

OFFICE, DEPARTMENT, HOTLINE = Role.OFFICE, Role.DEPARTMENT, Role.HOTLINE
PUBLIC: tuple[Role, ...] = ()  # no token: published for anyone (rate-limited per address)
# Path parameters that are integers in every route that has them.
INTEGER_PARAMETERS = frozenset({"version", "ext_id", "rule_id", "population"})


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str                       # the service's own path template, e.g. /entities/{uscc}
    roles: tuple[Role, ...]
    department_param: str | None = None   # query parameter naming a department, checked for departments
    long_running: bool = False      # may take longer than the gateway's usual upstream timeout
    streamed: bool = False          # a large answer: the gateway relays it as it comes, never holding it whole

    @property
    def gateway_path(self) -> str:
        return f"/{self.service}{self.path}"

    @property
    def gateway_route(self) -> str:
        """The gateway's route template: integer parameters match digits only, so ``/rules/dry-run`` is
        never taken for ``/rules/{version}`` (a GET there is 405, not a complaint about the version)."""
        return re.sub(r"{(\w+)}", lambda m: f"{{{m.group(1)}:int}}" if m.group(1) in INTEGER_PARAMETERS
                      else m.group(0), self.gateway_path)


def _routes(service: str, *specs: tuple) -> tuple[Route, ...]:
    return tuple(Route(service, m, p, tuple(r), *rest) for m, p, r, *rest in specs)


ROUTES: tuple[Route, ...] = (
    *_routes(
        "registry",
        ("GET", "/entities", (OFFICE, DEPARTMENT), "department"),
        ("GET", "/entities/{uscc}", (OFFICE, DEPARTMENT)),
        ("GET", "/entities/{uscc}/history", (OFFICE, DEPARTMENT)),
        ("POST", "/entities/{uscc}/disputes", (DEPARTMENT,)),
        ("GET", "/notifications", (OFFICE, DEPARTMENT), "department"),
        ("GET", "/notifications/{notification_id}", (OFFICE, DEPARTMENT)),
        # acknowledgement (签收) is the notified department's own act; the office reads, it does not sign
        ("POST", "/notifications/{notification_id}/acknowledgement", (DEPARTMENT,)),
        ("GET", "/rules", (OFFICE,)),
        ("GET", "/rules/versions", (OFFICE,)),
        ("GET", "/rules/{version}", (OFFICE,)),
        ("PUT", "/rules", (OFFICE,), None, True),  # assesses the whole directory, as the dry-run
        ("POST", "/rules/dry-run", (OFFICE,), None, True),  # evaluates up to the whole directory
        ("GET", "/adjudication", (OFFICE,)),
        ("GET", "/adjudication/{case_id}", (OFFICE,)),
        ("POST", "/adjudication/{case_id}/decision", (OFFICE,)),
    ),
    *_routes(
        "clues",
        ("GET", "/clues", (OFFICE, DEPARTMENT, HOTLINE)),
        ("GET", "/clues/{clue_id}", (OFFICE, DEPARTMENT, HOTLINE)),
        ("GET", "/work-orders/{work_order_no}/reply", (HOTLINE, OFFICE)),
        ("GET", "/queue/manual-dispatch", (OFFICE,)),
        ("POST", "/clues/{clue_id}/dispatch", (OFFICE,)),
        ("POST", "/clues/{clue_id}/accept", (DEPARTMENT,)),
        ("POST", "/clues/{clue_id}/return", (DEPARTMENT,)),
        ("POST", "/clues/{clue_id}/verify", (DEPARTMENT,)),
        ("POST", "/clues/{clue_id}/handle", (DEPARTMENT,)),
        ("POST", "/clues/{clue_id}/reply", (DEPARTMENT, OFFICE)),
        ("POST", "/clues/{clue_id}/close", (DEPARTMENT, OFFICE, HOTLINE)),
        ("POST", "/clues/{clue_id}/revisit", (OFFICE, HOTLINE)),
        ("POST", "/clues/{clue_id}/extensions", (DEPARTMENT,)),
        ("POST", "/clues/{clue_id}/extensions/{ext_id}/decision", (OFFICE,)),
        ("POST", "/clues/{clue_id}/case-transfers", (DEPARTMENT,)),
        ("GET", "/case-transfers/{transfer_id}", (OFFICE, DEPARTMENT)),
        ("POST", "/case-transfers/{transfer_id}/approval", (OFFICE, DEPARTMENT)),
        ("POST", "/case-transfers/{transfer_id}/handover", (OFFICE, DEPARTMENT)),
        ("POST", "/case-transfers/{transfer_id}/police-decision", (OFFICE, DEPARTMENT)),
        ("POST", "/case-transfers/incoming", (OFFICE, DEPARTMENT)),
        ("GET", "/routing-rules", (OFFICE,)),
        ("POST", "/routing-rules", (OFFICE,)),
        ("PATCH", "/routing-rules/{rule_id}", (OFFICE,)),
        ("GET", "/deadline-policies", (OFFICE,)),
        ("PUT", "/deadline-policies", (OFFICE,)),
    ),
    *_routes(
        "inspection",
        ("GET", "/matters", (OFFICE, DEPARTMENT)),
        ("GET", "/matters/{code}", (OFFICE, DEPARTMENT)),
        ("GET", "/batches", (OFFICE, DEPARTMENT)),
        ("POST", "/batches", (OFFICE,)),
        ("POST", "/batches/file", (OFFICE,)),
        ("POST", "/matters/{code}/promotion", (OFFICE,)),
        ("PUT", "/matters/{code}/work-plan", (OFFICE, DEPARTMENT)),
        ("GET", "/matters/{code}/work-plan", (OFFICE, DEPARTMENT)),
        ("PUT", "/matters/{code}/manual", (OFFICE, DEPARTMENT)),
        ("GET", "/inspectors", (OFFICE, DEPARTMENT), "department"),
        ("POST", "/inspectors", (OFFICE, DEPARTMENT)),
        ("GET", "/inspectors/{inspector_id}", (OFFICE, DEPARTMENT)),
        ("PATCH", "/inspectors/{inspector_id}", (OFFICE, DEPARTMENT)),
        ("POST", "/plans", (OFFICE, DEPARTMENT)),
        ("GET", "/plans", (OFFICE, DEPARTMENT)),
        ("GET", "/plans/{plan_id}", (OFFICE, DEPARTMENT)),
        ("POST", "/tasks", (OFFICE, DEPARTMENT)),
        ("GET", "/tasks", (OFFICE, DEPARTMENT)),
        ("GET", "/tasks/{task_id}", (OFFICE, DEPARTMENT)),
        ("POST", "/tasks/{task_id}/draws", (OFFICE, DEPARTMENT)),
        ("POST", "/draws/{draw_id}/perform", (OFFICE, DEPARTMENT), None, True),  # reads whole populations
        ("POST", "/draws/{draw_id}/abandon", (OFFICE, DEPARTMENT)),
        ("POST", "/tasks/{task_id}/targets/{uscc}/results", (OFFICE, DEPARTMENT)),
        ("GET", "/tasks/{task_id}/targets/{uscc}", (OFFICE, DEPARTMENT)),
        ("POST", "/tasks/{task_id}/targets/{uscc}/publication", (OFFICE, DEPARTMENT)),
        ("GET", "/publications/overdue", (OFFICE,)),
        ("GET", "/requests", (OFFICE, DEPARTMENT)),
        ("GET", "/public/matters", PUBLIC),
        ("GET", "/public/matters/{code}/manual", PUBLIC),
        ("GET", "/public/matters/{code}/manual.html", PUBLIC),
        ("GET", "/public/results", PUBLIC),
        # A draw's record (a hundred megabytes for a million entities) and a population's members: relayed streamed
        ("GET", "/public/draws/{draw_id}", PUBLIC, None, False, True),
        ("GET", "/public/draws/{draw_id}/populations/{population}/{credit_class}", PUBLIC, None, False, True),
    ),
    *_routes(
        "risk",
        ("GET", "/alerts", (OFFICE, DEPARTMENT)),
        ("GET", "/alerts/{alert_id}", (OFFICE, DEPARTMENT)),
        ("POST", "/alerts/{alert_id}/acknowledgement", (DEPARTMENT,)),
        ("POST", "/alerts/{alert_id}/response", (DEPARTMENT,)),
        ("GET", "/entities/{uscc}/credit-class", (OFFICE, DEPARTMENT)),
        ("POST", "/entities/{uscc}/credit-class/correction", (OFFICE,)),
        ("PUT", "/devices/{device_id}", (OFFICE,)),
        ("GET", "/devices/{device_id}", (OFFICE,)),
        ("GET", "/models", (OFFICE,)),
        ("GET", "/models/current", (OFFICE,)),
        ("GET", "/models/{version}", (OFFICE,)),
        ("POST", "/models", (OFFICE,)),
        ("POST", "/models/dry-run", (OFFICE,), None, True),  # counts every entity's level under the proposal
    ),
)

_BY_KEY = {(r.service, r.method, r.path): r for r in ROUTES}


def route_for(service: str, method: str, path: str) -> Route | None:
    """The matrix entry of a service's route (its path template), or None when it is not published."""
    return _BY_KEY.get((service, method.upper(), path))


def routes_of(service: str) -> tuple[Route, ...]:
    return tuple(r for r in ROUTES if r.service == service)


def allowed(route: Route, principal: Principal) -> bool:
    return principal.has(*route.roles)


def refusal(route: Route) -> Problem:
    return Problem(403, "this route needs one of the roles: " + ", ".join(r.value for r in route.roles))


def enforced(service: str) -> Any:
    """A router-wide dependency of ``service``'s routers: a route of the matrix answers only callers holding
    one of its roles (403), before anything else is looked at. ``APIRouter(dependencies=[enforced(...)])``."""

    async def check_route(request: Request) -> None:
        # the template as the matrix writes it: "/rules/{version}" for a route declared "/rules/{version:int}"
        template = getattr(request.scope.get("route"), "path_format", None)
        route = route_for(service, request.method, template) if template else None
        if route is None:
            raise Problem(403, f"{request.method} {template} is not in the route × role matrix")
        if not allowed(route, verified_principal(request)):
            raise refusal(route)

    return Depends(check_route)
