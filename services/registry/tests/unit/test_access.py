"""The registry's routes are exactly those of the route × role matrix (jsp_common.access, which the gateway
publishes), and each refuses every role the matrix does not give it, before looking at anything else."""

import re

import httpx
import pytest

from jsp_common import access
from jsp_common.principal import Principal, Role
from registry.app import create_app

OPERATIONS = {"/healthz", "/readyz", "/metrics"}


@pytest.fixture(scope="module")
def app():
    return create_app()


def test_the_service_has_exactly_the_routes_of_the_matrix(app):
    served = {(m.upper(), path) for path, item in app.openapi()["paths"].items() if path not in OPERATIONS
              for m in item}
    assert served == {(r.method, r.path) for r in access.routes_of("registry")}


async def test_every_route_refuses_the_roles_the_matrix_does_not_give_it(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as client:
        for route in access.routes_of("registry"):
            url = re.sub(r"{\w+}", "x1", route.path.replace("{version}", "1"))  # a version is digits
            for role in set(Role) - set(route.roles):
                who = Principal(subject="s", roles=[role], department="samr-410100")
                resp = await client.request(route.method, url, json={},
                                            headers={"x-jsp-principal": who.header_value()})
                assert resp.status_code == 403, (route, role, resp.text)
                assert resp.json()["detail"].startswith("this route needs one of the roles")


async def test_a_literal_path_is_not_read_as_a_version(app):
    """GET /rules/dry-run is a method that path does not take (405), not a version that is no integer (422)."""
    who = Principal(subject="s", roles=[Role.OFFICE])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as client:
        resp = await client.get("/rules/dry-run", headers={"x-jsp-principal": who.header_value()})
    assert resp.status_code == 405, resp.text
    assert resp.headers["allow"] == "POST" and resp.headers["content-type"] == "application/problem+json"
