"""Rendering pages: the Jinja2 environment with Chinese number and date formats, the caller."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from jsp_common import clock
from jsp_common.principal import Principal, Role, verified_principal
from jsp_common.problems import Problem

from ..domain import alerts as alert_rules
from ..domain import clue_steps
from ..domain import clues as clue_rules
from ..domain import figures
from ..domain.formats import moment, number
from ..domain.places import city_name, department_name, domain_name, industry_name
from ..usecases.public import MATTERS_PATH

PACKAGE = Path(__file__).resolve().parents[1]
# Why a department was notified (registry.notification.issued.v1 ``cause``), as the pages say it.
NOTIFICATION_CAUSES = {"registered": "新设立登记", "changed": "登记事项变更", "adjudicated": "专班研判认定",
                       "rules": "监管规则调整", "deregistered": "注销", "revoked": "吊销营业执照"}
STATIC_DIR = PACKAGE / "static"
templates = Jinja2Templates(directory=str(PACKAGE / "templates"))


templates.env.filters.update(
    number=number, moment=moment, city=city_name, department=department_name, industry=industry_name,
    state=lambda s: clue_rules.STATE_LABELS.get(s, s), action=lambda s: clue_rules.ACTION_LABELS.get(s, s),
    channel=lambda c: clue_rules.CHANNEL_LABELS.get(c, c), actor=clue_steps.actor_label,
    details=clue_steps.detail_lines, domain=domain_name,
    cause=lambda c: NOTIFICATION_CAUSES.get(c, c))
templates.env.globals.update(svg=Markup, alert_levels=alert_rules.LEVEL_LABELS,
                             alert_states=alert_rules.STATE_LABELS, credit_classes=alert_rules.CREDIT_CLASS_LABELS,
                             manual_base=MATTERS_PATH)


def viewer(request: Request) -> Principal:
    """The signed-in person (the gateway vouches in its header): the office or a department's staff."""
    p = verified_principal(request)
    if not p.has(Role.OFFICE, Role.DEPARTMENT):
        raise Problem(403, "the dashboard is for the task-force office and the departments")
    return p


def scope_of(p: Principal) -> str | None:
    """None: the office sees every department; else the caller's own department."""
    return None if p.is_office else p.department


def page_link(request: Request, **changes) -> str:
    params = {**dict(request.query_params), **{k: v for k, v in changes.items()}}
    params = {k: v for k, v in params.items() if v not in (None, "") and k != "partial"}
    return request.url.path + ("?" + urlencode(params) if params else "")


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    principal = getattr(request.state, "viewer", None)
    return templates.TemplateResponse(request, template, status_code=status_code, context={
        "now": clock.now(), "viewer": principal, "partial": request.query_params.get("partial") == "1",
        "link": lambda **kw: page_link(request, **kw), "age": lambda t: figures.age(t, clock.now()), **context})


def pages_count(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))
