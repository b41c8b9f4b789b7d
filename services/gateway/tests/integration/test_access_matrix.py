"""Every published route × every role (and no token at all): the outcome the access policy promises.

The expectations for the gateway's own routes are written out here, independently of the code; a route
published without an expectation fails the test. Service routes follow the published policy
(gateway.domain.policy.RULES); with the services not running, an allowed caller gets a clear 503.
"""

from __future__ import annotations

import re

import pytest

from jsp_testkit import samples
from jsp_testkit.testing import unique
from gateway.domain.policy import RULES
from jsp_common.access import INTEGER_PARAMETERS

from .conftest import is_problem

ANYONE = {"anonymous", "office", "admin", "department", "other_department", "bureau", "hotline"}
ROLES = ANYONE - {"anonymous"}
DEPARTMENTS = {"department", "other_department"}

OWN_ROUTES: dict[tuple[str, str], set[str]] = {
    ("post", "/auth/token"): ANYONE,
    ("post", "/auth/login"): ANYONE,
    ("get", "/auth/me"): ROLES,
    ("get", "/public/departments"): ANYONE,
    ("post", "/ingest/registrations"): {"bureau"},
    ("post", "/ingest/work-orders"): {"hotline"},
    ("get", "/entities/{uscc}/360"): {"office"} | DEPARTMENTS,
    ("get", "/audit"): {"office"},
    ("get", "/calendar/years"): {"office"} | DEPARTMENTS,
    ("get", "/calendar/years/{year}"): {"office"} | DEPARTMENTS,
    ("put", "/calendar/years/{year}"): {"office"},
    ("put", "/calendar/days/{day}"): {"office"},
    ("get", "/admin/clients"): {"admin"},
    ("post", "/admin/clients"): {"admin"},
    ("post", "/admin/clients/{client_id}/credentials"): {"admin"},
    ("post", "/admin/clients/{client_id}/credentials/{credential_id}/revoke"): {"admin"},
    ("post", "/admin/clients/{client_id}/status"): {"admin"},
    ("get", "/healthz"): ANYONE,
    ("get", "/readyz"): ANYONE,
    # the API description: the document, its docs page and the page's files (served by the gateway itself)
    ("get", "/openapi.json"): ANYONE,
    ("get", "/docs"): ANYONE,
    ("get", "/docs/oauth2-redirect"): ANYONE,
    ("get", "/docs/static/swagger-ui-bundle.js"): ANYONE,
    ("get", "/docs/static/swagger-ui.css"): ANYONE,
    ("get", "/docs/static/favicon.png"): ANYONE,
}
NOT_IN_THE_DOCUMENT = {("get", "/healthz"), ("get", "/readyz"), ("get", "/openapi.json")} | {
    route for route in OWN_ROUTES if route[1].startswith("/docs")}
ROLE_ACTOR = {"office": {"office"}, "department": DEPARTMENTS, "bureau": {"bureau"}, "hotline": {"hotline"},
              "admin": {"admin"}}


def expected_callers() -> dict[tuple[str, str], set[str]]:
    table = dict(OWN_ROUTES)
    for rule in RULES:
        table[(rule.method.lower(), rule.gateway_path)] = (
            set().union(*(ROLE_ACTOR[r.value] for r in rule.roles)) if rule.roles else ANYONE)  # public: anyone
    return table


def fill(path: str) -> str:
    def value(name: str) -> str:
        return samples.new_uscc("410102") if name == "uscc" else "1" if name in INTEGER_PARAMETERS else "x1"
    return re.sub(r"{(\w+)}", lambda m: value(m.group(1)), path)


@pytest.fixture(scope="module")
async def published(gw) -> set[tuple[str, str]]:
    doc = (await gw.http.get("/openapi.json")).json()
    return {(m, p) for p, item in doc["paths"].items() for m in item if m in ("get", "post", "put", "patch", "delete")}


async def test_every_published_route_has_an_expectation(published):
    assert published - expected_callers().keys() == set()
    assert expected_callers().keys() - published - NOT_IN_THE_DOCUMENT == set()


@pytest.mark.parametrize("method, path", sorted(expected_callers()))
async def test_route_outcome_for_every_role(gw, actors, method, path):
    allowed = expected_callers()[(method, path)]
    url = fill(path)
    outcomes = {}
    # an account and a client nobody has, new on each run: the failed sign-ins of an account tried are limited in
    # the gateway's database, which outlives a run (a second run within hours found "nobody" spent: 429)
    nobody = unique("nobody")
    for who in sorted(ANYONE):
        headers = actors[who]["headers"] if who != "anonymous" else {}
        kwargs = {"json": {}} if method != "get" and path != "/auth/token" else {}
        if path == "/auth/token":
            kwargs = {"data": {"grant_type": "client_credentials", "client_id": nobody, "client_secret": "x"}}
        if path == "/auth/login":
            kwargs = {"json": {"username": nobody, "password": "x"}}
        resp = await gw.http.request(method.upper(), url, headers=headers, **kwargs)
        outcomes[who] = resp.status_code
        if resp.status_code >= 400:
            assert is_problem(resp), f"{method} {path} as {who}: {resp.text}"
    if path in ("/auth/token", "/auth/login"):
        # open to anyone: the answer depends on the credentials sent, never on the caller's token
        assert set(outcomes.values()) == {401}, outcomes
        return
    for who, status in outcomes.items():
        if who in allowed:
            assert status not in (401, 403, 429) and status < 500 or status == 503, (who, outcomes)
        elif who == "anonymous":
            assert status == 401, (who, outcomes)
        else:
            assert status == 403, (who, outcomes)
    if (method, path) in {(r.method.lower(), r.gateway_path) for r in RULES}:
        # the services are not running here: every allowed caller is told so, at once and clearly
        assert {outcomes[w] for w in allowed} == {503}, outcomes
