"""Schemathesis against the gateway's published OpenAPI (the services merged in and running): no server
error and no response that breaks the schema, for every operation, called as the office."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hsettings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from jsp_testkit.testing import unique

EXAMPLES = int(os.environ.get("JSP_SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def published_api(stack):
    return schemathesis.openapi.from_url(f"{stack.services['gateway'].url}/openapi.json")


@pytest.fixture(scope="module")
def office_token(stack) -> str:
    username, password = unique("fuzz"), unique("pw") + "-Aa1"
    done = subprocess.run([sys.executable, "-m", "gateway", "create-office-account", "--username", username,
                           "--password", password], env=stack.services["gateway"].env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    resp = httpx.post(f"{stack.services['gateway'].url}/auth/login",
                      json={"username": username, "password": password})
    return resp.json()["access_token"]


def test_no_server_error_and_no_schema_breaking_response(published_api, stack, office_token):
    base_url = stack.services["gateway"].url
    headers = {"Authorization": f"Bearer {office_token}"}
    failures: dict[str, str] = {}
    operations = [r.ok() for r in published_api.get_all_operations()]
    assert len(operations) > 40  # the services' routes are merged in

    for operation in operations:
        @hsettings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case):
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every failure, report them together
            failures[f"{operation.method.upper()} {operation.path}"] = " | ".join(
                line.strip() for line in _describe(exc).splitlines() if line.strip().startswith(("-", "`", "curl")))[:700]
    assert not failures, "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))


def _describe(exc: BaseException) -> str:
    parts = [str(exc)]
    for sub in getattr(exc, "exceptions", ()):
        parts.append(_describe(sub))
    notes = getattr(exc, "__notes__", [])
    return "\n".join(parts + list(notes))
