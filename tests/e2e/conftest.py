"""The platform started as `make run` starts it (deploy/local/run.py: migrate, serve, wait on /readyz), on
test databases and ports of its own, driven through the gateway and the topics as outside systems would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from jsp_common.testing import local_stack_module, unique

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "clues", "gateway")
PORTS = {"gateway": int(os.environ.get("JSP_E2E_GATEWAY_PORT", "18000")),
         "registry": int(os.environ.get("JSP_E2E_REGISTRY_PORT", "18101")),
         "clues": int(os.environ.get("JSP_E2E_CLUES_PORT", "18102"))}


@pytest.fixture(scope="session")
def stack(settings, kafka_topics):
    run = local_stack_module(ROOT)
    base = settings.postgres_url.rstrip("/")
    s = run.Stack(list(SERVICES), ports=PORTS, log_dir=ROOT / ".local" / "e2e-logs",
                  env={"JSP_LOG_JSON": "true", "JSP_OUTBOX_POLL_INTERVAL_S": "0.1"},
                  per_service={n: {f"JSP_{n.upper()}_DATABASE_URL": f"{base}/{n}_e2e"} for n in SERVICES})
    # rate limits are tested on their own (services/gateway/tests); here they would only slow the fuzzing
    s.services["gateway"].env.update(JSP_GATEWAY_RATE_LIMIT_PER_MINUTE="1000000", JSP_GATEWAY_RATE_LIMIT_BURST="100000")
    try:
        s.start_all()
        yield s
    finally:
        s.stop_all()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def front(stack):
    async with httpx.AsyncClient(base_url=stack.services["gateway"].url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def office(stack, front) -> dict:
    """The first office account, made by the admin command, logged in through the front door."""
    username, password = unique("office"), unique("pw") + "-Aa1"
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "gateway", "create-office-account", "--username", username,
                         "--password", password], env=stack.services["gateway"].env, capture_output=True,
        text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    resp = await front.post("/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"headers": {"Authorization": f"Bearer {resp.json()['access_token']}"}}


class Clients:
    def __init__(self, front: httpx.AsyncClient, office: dict):
        self.front, self.office = front, office

    async def system(self, *roles: str, department: str | None = None) -> dict:
        """A line system registered by the office (admin API) and its token (client credentials)."""
        created = await self.front.post("/admin/clients", headers=self.office["headers"], json={
            "name": unique("system"), "kind": "system", "roles": list(roles), "department": department})
        assert created.status_code == 201, created.text
        body = created.json()
        token = await self.front.post("/auth/token", data={
            "grant_type": "client_credentials", "client_id": body["client"]["client_id"],
            "client_secret": body["credential"]["secret"]})
        assert token.status_code == 200, token.text
        return {"client_id": body["client"]["client_id"],
                "headers": {"Authorization": f"Bearer {token.json()['access_token']}"}}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def clients(front, office) -> Clients:
    return Clients(front, office)
