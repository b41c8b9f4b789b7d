"""Which service routes the gateway publishes, and who may call them.

The gateway publishes a service's route as ``/<service><path>``. A route not listed in the matrix
(jsp_common.access, which the services check too) is not reachable from outside (deny by default). The
services scope objects themselves (a department asking for another department's object gets 404); the
gateway checks the role on every route and, where a route filters by department, that a department asks
only about its own.
"""

from __future__ import annotations

from jsp_common.access import ROUTES, Route
from jsp_common.principal import Role

OFFICE = Role.OFFICE

# The route × role matrix lives in jsp_common.access, the one place the services check too.
Rule = Route
RULES: tuple[Rule, ...] = ROUTES


def department_query_allowed(rule: Rule, roles: list[Role], own_department: str | None, asked: str | None) -> bool:
    """A department (without office rights) may filter by its own department only."""
    if rule.department_param is None or asked is None or OFFICE in roles:
        return True
    return asked == own_department
