"""Schemathesis against the gateway's published OpenAPI (the services merged in and running), with every
check (server errors, status codes, content types, response schemas and headers, positive and negative data
acceptance, unsupported methods and the Allow header, authentication), for each role.

Every route is covered, the inspection and risk services' and the gateway's working-day schedule among them.
The hooks make the run's positive cases keep the rules across fields (a matter's departments, a risk model's
levels and plans, a schedule's days in its year) and upload schedules only for far years (other services on
the broker take them). The coverage phase tries each enumeration's values everywhere one is used; of cases alike
but for which department, agency or division they name, a few are sent (some 270 departments would otherwise
make a thousand requests of one operation).

A failure means the published document and the running API disagree: a client generated from the document
would send what the service refuses, or be surprised by what it answers. The office (which also holds the
admin role) is run against every operation, each other role against the operations it may call (elsewhere
it gets the same documented 403). The run is bounded (JSP_SCHEMATHESIS_EXAMPLES examples per operation and
phase) to keep `make test` to a few minutes; one worker, as schemathesis's coverage phase is not safe in
threads (runtime errors from the interpreter with two)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from jsp_testkit import front_door
from jsp_common.access import ROUTES
from jsp_testkit.testing import unique

HERE = Path(__file__).resolve().parent
EXAMPLES = os.environ.get("JSP_SCHEMATHESIS_EXAMPLES", "4")
SYSTEM_ROLES = {"department": ("department", "samr-410100"), "bureau": ("bureau", None),
                "hotline": ("hotline", None), "admin": ("admin", None)}
# The gateway's own operations each role may call (the services' come from the route × role matrix).
OWN_OPERATIONS = {
    "department": ["GET /auth/me", "GET /entities/{uscc}/360"],
    "bureau": ["GET /auth/me", "POST /ingest/registrations"],
    "hotline": ["GET /auth/me", "POST /ingest/work-orders"],
    "admin": ["GET /auth/me", "GET /admin/clients", "POST /admin/clients", "POST /admin/clients/{client_id}/credentials",
              "POST /admin/clients/{client_id}/credentials/{credential_id}/revoke",
              "POST /admin/clients/{client_id}/status"],
}


def operations_of(role: str) -> list[str]:
    """``--include-name`` options selecting the operations ``role`` may call (none: every operation)."""
    if role == "office":
        return []
    names = OWN_OPERATIONS[role] + [f"{r.method} {r.gateway_path}" for r in ROUTES if role in r.roles]
    return [option for name in names for option in ("--include-name", name)]


@pytest.fixture(scope="module")
def tokens(stack) -> dict[str, str]:
    """A bearer token for each role: the office as a person, the others as line systems."""
    gateway = stack.services["gateway"]
    username, password = unique("fuzz"), unique("pw") + "-Aa1"
    front_door.create_office_account(gateway.env, username, password)
    out = {}
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        office = http.post("/auth/login", json={"username": username, "password": password}).json()["access_token"]
        out["office"] = office
        for role, (name, department) in SYSTEM_ROLES.items():
            created = http.post("/admin/clients", headers=front_door.bearer(office), json={
                "name": unique(role), "kind": "system", "roles": [name], "department": department})
            assert created.status_code == 201, created.text
            token = http.post("/auth/token", data={"grant_type": "client_credentials",
                                                   "client_id": created.json()["client"]["client_id"],
                                                   "client_secret": created.json()["credential"]["secret"]})
            out[role] = token.json()["access_token"]
    return out


@pytest.mark.parametrize("role", ["office", "department", "bureau", "hotline", "admin"])
def test_the_api_does_what_its_published_document_says(stack, tokens, role, tmp_path):
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "JSP_SCHEMATHESIS_ROLE": role,
           "JSP_SCHEMATHESIS_DEPARTMENT": (SYSTEM_ROLES.get(role, (None, None))[1] or ""),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    command = [str(Path(sys.executable).with_name("schemathesis")), "--no-color", "run",
               f"{stack.services['gateway'].url}/openapi.json",
               "--checks", "all", "--phases", "examples,coverage,fuzzing", "--max-examples", EXAMPLES,
               "--seed", "16", "--workers", "1", "--suppress-health-check", "all", "--request-timeout", "60",
               "--header", f"Authorization: Bearer {tokens[role]}", "--warnings", "off",
               "--report", "junit", "--report-dir", str(tmp_path),
               *operations_of(role)]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    report = done.stdout if len(done.stdout) < 16000 else done.stdout[:4000] + "\n[...]\n" + done.stdout[-12000:]
    assert done.returncode == 0, f"schemathesis as {role}:\n{report}\n{done.stderr[-2000:]}"
