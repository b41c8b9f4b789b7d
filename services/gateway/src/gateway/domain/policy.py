"""Which service routes the gateway publishes, and who may call them.

The gateway publishes a service's route as ``/<service><path>``. A route not listed here is not
reachable from outside (deny by default). The services scope objects themselves (a department asking
for another department's object gets 404); the gateway checks the role on every route and, where a
route filters by department, that a department asks only about its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from jsp_common.principal import Role

OFFICE, DEPARTMENT, HOTLINE = Role.OFFICE, Role.DEPARTMENT, Role.HOTLINE
PUBLIC: tuple[Role, ...] = ()  # no token: published for anyone (rate-limited per address)


@dataclass(frozen=True)
class Rule:
    service: str
    method: str
    path: str                       # the service's own path template, e.g. /entities/{uscc}
    roles: tuple[Role, ...]         # PUBLIC (empty): anyone, without a token
    department_param: str | None = None   # query parameter naming a department, checked for departments
    long_running: bool = False      # may take longer than upstream_timeout_s (upstream_long_timeout_s)

    @property
    def gateway_path(self) -> str:
        return f"/{self.service}{self.path}"


def _rules(service: str, *specs: tuple) -> tuple[Rule, ...]:
    return tuple(Rule(service, m, p, tuple(r), *rest) for m, p, r, *rest in specs)


RULES: tuple[Rule, ...] = (
    *_rules(
        "registry",
        ("GET", "/entities", (OFFICE, DEPARTMENT), "department"),
        ("GET", "/entities/{uscc}", (OFFICE, DEPARTMENT)),
        ("GET", "/entities/{uscc}/history", (OFFICE, DEPARTMENT)),
        ("POST", "/entities/{uscc}/disputes", (DEPARTMENT,)),
        ("GET", "/notifications", (OFFICE, DEPARTMENT), "department"),
        ("GET", "/notifications/{notification_id}", (OFFICE, DEPARTMENT)),
        ("POST", "/notifications/{notification_id}/acknowledgement", (DEPARTMENT, OFFICE)),
        ("GET", "/rules", (OFFICE,)),
        ("GET", "/rules/versions", (OFFICE,)),
        ("GET", "/rules/{version}", (OFFICE,)),
        ("PUT", "/rules", (OFFICE,)),
        ("POST", "/rules/dry-run", (OFFICE,), None, True),  # evaluates up to the whole directory
        ("GET", "/adjudication", (OFFICE,)),
        ("GET", "/adjudication/{case_id}", (OFFICE,)),
        ("POST", "/adjudication/{case_id}/decision", (OFFICE,)),
    ),
    *_rules(
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
    *_rules(
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
        ("GET", "/public/matters", PUBLIC),
        ("GET", "/public/matters/{code}/manual", PUBLIC),
        ("GET", "/public/matters/{code}/manual.html", PUBLIC),
        ("GET", "/public/results", PUBLIC),
        ("GET", "/public/draws/{draw_id}", PUBLIC),
    ),
    *_rules(
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


def department_query_allowed(rule: Rule, roles: list[Role], own_department: str | None, asked: str | None) -> bool:
    """A department (without office rights) may filter by its own department only."""
    if rule.department_param is None or asked is None or OFFICE in roles:
        return True
    return asked == own_department
