"""Each service that enforces the route × role matrix (jsp_common.access, which the gateway publishes) serves
exactly the routes of the matrix, and each route refuses every role the matrix does not give it, before
looking at anything else. One test for every such service: its app built from its app.py."""

import importlib
import re

import httpx
import pytest

from jsp_common import access
from jsp_common.principal import Principal, Role
from jsp_testkit.testing import caller_headers

OPERATIONS = {"/healthz", "/readyz", "/metrics"}
ENFORCING = ("registry", "clues")  # the services whose routers carry access.enforced(<service>)


@pytest.fixture(scope="module", params=ENFORCING)
def service(request):
    return request.param, importlib.import_module(f"{request.param}.app").create_app()


def test_the_service_has_exactly_the_routes_of_the_matrix(service):
    name, app = service
    served = {(m.upper(), path) for path, item in app.openapi()["paths"].items() if path not in OPERATIONS
              for m in item}
    assert served == {(r.method, r.path) for r in access.routes_of(name)}


async def test_every_route_refuses_the_roles_the_matrix_does_not_give_it(service):
    name, app = service
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}") as client:
        for route in access.routes_of(name):
            url = re.sub(r"{\w+}", "x1", route.path.replace("{version}", "1"))  # a version is digits
            for role in set(Role) - set(route.roles):
                who = Principal(subject="s", roles=[role], department="samr-410100")
                resp = await client.request(route.method, url, json={},
                                            headers=caller_headers(who, name))
                assert resp.status_code == 403, (route, role, resp.text)
                assert resp.json()["detail"].startswith("this route needs one of the roles")


async def test_a_literal_path_is_not_read_as_a_version():
    """GET /rules/dry-run is a method that path does not take (405), not a version that is no integer (422)."""
    app = importlib.import_module("registry.app").create_app()
    who = Principal(subject="s", roles=[Role.OFFICE])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as client:
        resp = await client.get("/rules/dry-run", headers=caller_headers(who, "registry"))
    assert resp.status_code == 405, resp.text
    assert resp.headers["allow"] == "POST" and resp.headers["content-type"] == "application/problem+json"
