"""Who is calling, proven: a call straight to a service (past the gateway) with a missing, forged, expired or
wrong-audience assertion is refused with a problem document and recorded in the service's log; the gateway's
own assertion for that service is accepted. The gateway's metrics are not on its public port."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from jsp_common.caller import DEV_SIGNING_KEY, HEADER, Signer, new_key
from jsp_common.principal import Principal, Role
from jsp_testkit.testing import unique, wait_until

OFFICE = Principal(subject="office-e2e", kind="person", roles=[Role.OFFICE])
ROUTES = {"registry": "/entities", "clues": "/clues", "inspection": "/matters", "risk": "/alerts",
          "dashboard": "/ui/"}
GATEWAY = Signer.from_jwk(DEV_SIGNING_KEY)          # the e2e stack runs on the development key pair
IMPOSTOR = Signer.from_jwk(new_key(json.loads(DEV_SIGNING_KEY)["kid"])[0])   # same kid, another key


def _assertions(service: str) -> dict[str, dict[str, str]]:
    other = "clues" if service != "clues" else "registry"
    return {"missing": {},
            "forged": {HEADER: IMPOSTOR.sign(OFFICE, service)},
            "expired": {HEADER: GATEWAY.sign(OFFICE, service, now=time.time() - 3600)},
            "wrong audience": {HEADER: GATEWAY.sign(OFFICE, other)},
            "malformed": {HEADER: OFFICE.model_dump_json()}}          # the bare principal header of old


def _refusals(log_path, marker: str) -> list[dict]:
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        if marker in line and '"caller refused"' in line:
            found.append(json.loads(line))
    return found


@pytest.mark.parametrize("service", sorted(ROUTES))
async def test_a_service_refuses_and_records_callers_without_the_gateways_assertion_for_it(stack, service):
    svc = stack.services[service]
    marker = unique("probe")
    async with httpx.AsyncClient(base_url=svc.url, timeout=10) as http:
        for reason, headers in _assertions(service).items():
            resp = await http.get(ROUTES[service], headers={**headers, "x-request-id": f"{marker}-{reason}"},
                                  params={"probe": marker})
            assert resp.status_code == 401, (service, reason, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert resp.json()["reason"] == reason
        ok = await http.get(ROUTES[service], headers={**GATEWAY.headers(OFFICE, service)})
        assert ok.status_code == 200, ok.text

    records = await wait_until(lambda: len(r := _refusals(svc.log, marker)) == 5 and r,
                               what=f"{service} logged the five refusals")
    assert {r["reason"] for r in records} == set(_assertions(service))
    assert all(r["path"] == ROUTES[service] and r["level"] == "warning" for r in records)
    assert HEADER not in json.dumps(records) and "eyJ" not in json.dumps(records)   # never the token itself


async def test_the_gateways_metrics_are_on_their_own_port_only(stack, front):
    assert (await front.get("/metrics")).status_code == 404
    port = stack.services["gateway"].env["JSP_GATEWAY_METRICS_PORT"]
    async with httpx.AsyncClient(timeout=10) as http:
        scraped = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert scraped.status_code == 200
    assert "jsp_" in scraped.text
