"""A client of the gateway's own API for the demo, the end-to-end tests and the benchmark: create the first
office account (the admin command), log in, register a line system and get its token."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

import httpx

Headers = dict[str, str]


class FrontDoorError(RuntimeError):
    """The gateway refused a set-up step; the message carries its answer."""


def _ok(resp: httpx.Response, expected: int) -> dict:
    if resp.status_code != expected:
        raise FrontDoorError(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {resp.text}")
    return resp.json()


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def create_office_account(env: Mapping[str, str], username: str, password: str, *, if_missing: bool = False) -> str:
    """``python -m gateway create-office-account`` with the gateway's environment (its database); returns
    what the command printed."""
    # --option=value: a generated password may begin with "-", which argparse would take for an option
    done = subprocess.run([sys.executable, "-m", "gateway", "create-office-account", f"--username={username}",
                           f"--password={password}", *(["--if-missing"] if if_missing else [])], env=dict(env),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise FrontDoorError(f"create-office-account failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def login(http: httpx.AsyncClient, username: str, password: str) -> Headers:
    """A person's bearer token (``/auth/login``)."""
    body = _ok(await http.post("/auth/login", json={"username": username, "password": password}), 200)
    return bearer(body["access_token"])


async def register_system(http: httpx.AsyncClient, office: Headers, *, name: str, roles: list[str],
                          department: str | None = None) -> tuple[str, Headers]:
    """A line system registered by the office (``/admin/clients``) and its token (client credentials):
    returns its client id and bearer headers."""
    created = _ok(await http.post("/admin/clients", headers=office, json={
        "name": name, "kind": "system", "roles": roles, "department": department}), 201)
    client_id = created["client"]["client_id"]
    token = _ok(await http.post("/auth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": created["credential"]["secret"]}), 200)
    return client_id, bearer(token["access_token"])


async def responsible_departments(http: httpx.AsyncClient, office: Headers, receipt: Mapping, *,
                                  otherwise: str) -> list[str]:
    """The departments a registration was assigned to, from its acceptance receipt's data; when no rule matched
    and it waits in adjudication, the office assigns it to ``otherwise`` (研判定性) and that is the answer."""
    if receipt["responsible_departments"]:
        return list(receipt["responsible_departments"])
    if not receipt["in_adjudication"]:
        raise FrontDoorError(f"registration {receipt['uscc']} has no department and waits for no adjudication")
    first = _ok(await http.get("/registry/adjudication", headers=office, params={"page_size": 500}), 200)
    last = max(1, -(-first["total"] // 500))  # oldest first: the newest case is on the last page
    queue = _ok(await http.get("/registry/adjudication", headers=office, params={"page_size": 500, "page": last}), 200)
    [case] = {c["id"]: c for c in first["items"] + queue["items"] if c["uscc"] == receipt["uscc"]}.values()
    _ok(await http.post(f"/registry/adjudication/{case['id']}/decision", headers=office,
                        json={"departments": [otherwise], "note": "由研判指定的部门监管"}), 200)
    return [otherwise]
