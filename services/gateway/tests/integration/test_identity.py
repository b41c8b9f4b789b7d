"""Identity: client credentials, API keys, people's login; rotation, revocation, disabling; the admin command."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
import sys
import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from sqlalchemy import text

from jsp_common.outbox import SessionTx
from jsp_common.principal import Role
from jsp_testkit.testing import serving, unique, until_waiting_or_done, wait_until

from gateway.domain.identity import CredentialKind
from gateway.usecases import clients

from .conftest import DEPARTMENT, gateway_settings, is_problem, start

SESSION_COOKIE = "jsp_session"


async def _token(gw, **form) -> tuple[int, dict]:
    resp = await gw.http.post("/auth/token", data=form)
    return resp.status_code, resp.json()


async def test_a_token_asked_for_with_an_idempotency_key_is_never_anyone_else_s(gw):
    """A sign-in is nobody's request until it succeeds: with a resent request's answer kept for its key, a second
    system sending the same key (with any credentials, even wrong ones) was given the first one's token."""
    first, second = [await gw.client_for(Role.DEPARTMENT, department=DEPARTMENT) for _ in range(2)]
    key = {"Idempotency-Key": unique("token")}

    async def token(client: dict, secret: str) -> httpx.Response:
        return await gw.http.post("/auth/token", headers=key, data={
            "grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": secret})
    mine = await token(first, first["secret"])
    assert mine.status_code == 200, mine.text
    wrong = await token(second, "not-the-secret")
    assert wrong.status_code == 401 and "idempotent-replayed" not in wrong.headers
    theirs = await token(second, second["secret"])
    assert theirs.status_code == 200 and theirs.json()["access_token"] != mine.json()["access_token"]
    claims = (await gw.http.get("/auth/me", headers={"Authorization": f"Bearer {theirs.json()['access_token']}"}))
    assert claims.json()["subject"] == second["client_id"]


async def test_a_token_carries_department_division_and_roles(gw):
    dept = await gw.client_for(Role.DEPARTMENT, department=DEPARTMENT)
    me = (await gw.http.get("/auth/me", headers=dept["headers"])).json()
    assert me == {"subject": dept["client_id"], "kind": "system", "roles": ["department"],
                  "department": DEPARTMENT, "division": "410100", "name": dept["username"]}


async def test_people_log_in_and_wrong_secrets_are_refused_alike(gw):
    person = await gw.client_for(Role.OFFICE, person=True)
    ok = await gw.http.post("/auth/login", json={"username": person["username"], "password": person["secret"]})
    assert ok.status_code == 200 and ok.json()["roles"] == ["office"]
    for username, password in ((person["username"], "wrong-password"), (unique("nobody"), "wrong-password")):
        bad = await gw.http.post("/auth/login", json={"username": username, "password": password})
        assert bad.status_code == 401 and is_problem(bad)
        assert bad.json()["detail"] == "invalid user name or password"
    system = await gw.client_for(Role.BUREAU)
    status, body = await _token(gw, grant_type="client_credentials", client_id=system["client_id"],
                                client_secret="not-the-secret")
    assert status == 401 and body["detail"] == "invalid client credentials"


async def test_signing_out_ends_the_session_s_token_in_every_replica(gw, settings):
    """Signing out only asked the browser to forget its cookie: a copy of it (the token inside) went on working for
    the rest of its quarter of an hour, as a cookie and as a bearer token, on every replica."""
    person = await gw.client_for(Role.OFFICE, person=True)
    signed_in = await gw.http.post("/ui/login", data={"username": person["username"], "password": person["secret"],
                                                      "next": "/ui/"})
    assert signed_in.status_code == 303, signed_in.text
    token = signed_in.cookies.get(next(iter(signed_in.cookies.keys())))
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await gw.http.get("/auth/me", headers=bearer)).status_code == 200
    out = await gw.http.post("/ui/logout", cookies={k: v for k, v in signed_in.cookies.items()})
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    refused = await gw.http.get("/auth/me", headers=bearer)
    assert refused.status_code == 401 and is_problem(refused) and "signed out" in refused.json()["detail"]
    assert (await gw.http.get("/auth/me", headers=person["headers"])).status_code == 200  # its other sessions: not
    other, ctx = await start(gateway_settings(settings))  # another replica, reading what the first one recorded
    try:
        assert (await other.http.get("/auth/me", headers=bearer)).status_code == 401
    finally:
        await other.http.aclose()
        await ctx.__aexit__(None, None, None)


async def _signed_in_on_the_pages(gw, person) -> tuple[str, object]:
    """The session's token a person signing in on the pages gets in the cookie, and what it says."""
    signed_in = await gw.http.post("/ui/login", data={"username": person["username"], "password": person["secret"],
                                                      "next": "/ui/"})
    assert signed_in.status_code == 303, signed_in.text
    token = signed_in.cookies[SESSION_COOKIE]
    return token, gw.runtime.deps.issuer.verify(token)


def _aged(gw, claims, *, lived_s: int, session_started: int | None = None) -> str:
    """A token of the same session issued ``lived_s`` ago (as the page's earlier one would be)."""
    session = claims.model_copy(update={"auth_time": session_started or claims.auth_time})
    ends = session.auth_time + gw.runtime.deps.settings.session_max_s
    return gw.runtime.deps.issuer.issue(session, now=time.time() - lived_s, not_after=ends)[0]


async def test_a_page_in_use_keeps_its_session_to_its_end_and_signing_out_ends_every_token_of_it(gw):
    """A person's token lived its quarter of an hour and was never renewed: the office's command page on a wall
    screen was sent to sign in every fifteen minutes. A page in use now gets a fresh token of the same session
    once its token is past half its life, never beyond the session's end; signing out ends the earlier tokens too."""
    person = await gw.client_for(Role.OFFICE, person=True)
    first, claims = await _signed_in_on_the_pages(gw, person)
    assert claims.sid and claims.exp - claims.auth_time == 900
    assert "set-cookie" not in (await gw.http.post("/ui/session", cookies={SESSION_COOKIE: first})).headers  # fresh
    aged = _aged(gw, claims, lived_s=500)
    kept = await gw.http.post("/ui/session", cookies={SESSION_COOKIE: aged})
    assert kept.status_code == 204, kept.text
    renewed = gw.runtime.deps.issuer.verify(kept.cookies[SESSION_COOKIE])
    assert (renewed.sid, renewed.auth_time) == (claims.sid, claims.auth_time)
    assert renewed.exp - time.time() > 850 and "Max-Age=900" in kept.headers["set-cookie"]
    # near the session's end (12 hours after signing in): a fresh token lives to the end, not beyond
    ends = int(time.time()) + 400
    late = await gw.http.post("/ui/session", cookies={SESSION_COOKIE: _aged(
        gw, claims, lived_s=600, session_started=ends - gw.runtime.deps.settings.session_max_s)})
    assert gw.runtime.deps.issuer.verify(late.cookies[SESSION_COOKIE]).exp == ends
    # signing out with the newest token ends the session: the earlier ones (copies of the cookie) too
    out = await gw.http.post("/ui/logout", cookies={SESSION_COOKIE: kept.cookies[SESSION_COOKIE]})
    assert out.status_code == 303
    for token in (first, aged):
        refused = await gw.http.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401 and "signed out" in refused.json()["detail"]
    ended = await gw.http.post("/ui/session", cookies={SESSION_COOKIE: aged})
    assert ended.status_code == 401 and is_problem(ended)
    # a token asked for through the API (a script's) lives its time and ends: only the pages' sessions go on
    api = gw.runtime.deps.issuer.verify(person["token"])
    assert api.sid is None
    api_aged = gw.runtime.deps.issuer.issue(api, now=time.time() - 500)[0]
    not_kept = await gw.http.post("/ui/session", cookies={SESSION_COOKIE: api_aged})
    assert not_kept.status_code == 204 and "set-cookie" not in not_kept.headers
    # nor is the session of a person the pages are not for
    admin_token, _ = await _signed_in_on_the_pages(gw, await gw.client_for(Role.ADMIN, person=True))
    assert (await gw.http.post("/ui/session", cookies={SESSION_COOKIE: admin_token})).status_code == 403


@contextlib.asynccontextmanager
async def _gateway_before_a_quiet_live_page(settings, more: asyncio.Event | None = None):
    """A gateway (revocations reloaded every 0.5 s) on a port of its own, before a dashboard whose live stream sends
    one comment and then nothing until the test is over (another once ``more`` is set); yields the gateway, its
    address and an event set when the dashboard's end of the stream is let go."""
    dashboard, over, let_go = FastAPI(), asyncio.Event(), asyncio.Event()

    @dashboard.get("/ui/stream")
    async def stream() -> StreamingResponse:
        async def events():
            try:
                yield b": open\n\n"
                if more is not None:
                    await more.wait()
                    yield b": more\n\n"
                await over.wait()
            finally:
                let_go.set()
        return StreamingResponse(events(), media_type="text/event-stream")

    async with serving(dashboard) as dashboard_url:
        running, ctx = await start(gateway_settings(settings, dashboard_url=dashboard_url))
        try:
            async with serving(running.app) as url:
                try:
                    yield running, url, let_go
                finally:
                    over.set()
        finally:
            await running.http.aclose()
            await ctx.__aexit__(None, None, None)


async def _sign_out_here(here, other, person, cookies, admin):
    return await here.http.post("/ui/logout", cookies=cookies)


async def _sign_out_on_another_replica(here, other, person, cookies, admin):
    return await other.http.post("/ui/logout", cookies=cookies)


async def _revoke_the_password(here, other, person, cookies, admin):
    return await here.http.post(f"/admin/clients/{person['client_id']}/credentials/{person['credential_id']}/revoke",
                                headers=admin["headers"])


async def _disable_the_account(here, other, person, cookies, admin):
    return await here.http.post(f"/admin/clients/{person['client_id']}/status", headers=admin["headers"],
                                json={"status": "disabled"})


@pytest.mark.parametrize("end_access", [_sign_out_here, _sign_out_on_another_replica, _revoke_the_password,
                                        _disable_the_account], ids=lambda f: f.__name__.strip("_"))
async def test_a_live_page_open_when_its_session_ends_is_closed_by_the_gateway(gw, settings, end_access):
    """A live page opened before its person signed out (or lost access) went on receiving the dashboard's updates
    until the stream ended by itself: on a shared office computer, or after an employee was dismissed. The gateway
    now closes it at its next check of the revocations (here every 0.5 s), a quiet stream too."""
    async with _gateway_before_a_quiet_live_page(settings) as (here, url, dashboard_let_go):
        person = await here.client_for(Role.DEPARTMENT, department=DEPARTMENT, person=True)
        admin = await here.client_for(Role.ADMIN, person=True)
        signed_in = await here.http.post("/ui/login", data={"username": person["username"],
                                                            "password": person["secret"], "next": "/ui/"})
        cookies = dict(signed_in.cookies.items())
        async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=30) as browser, \
                browser.stream("GET", "/ui/stream") as live:
            assert live.status_code == 200 and live.headers["content-type"].startswith("text/event-stream")
            chunks = live.aiter_raw()
            assert await asyncio.wait_for(anext(chunks), 10) == b": open\n\n"  # open through the gateway
            ended = await end_access(here, gw, person, cookies, admin)
            assert ended.status_code in (200, 303), ended.text
            rest = await asyncio.wait_for(_rest(chunks), 10)  # closed by the gateway, not left open
        assert rest == b""
        await asyncio.wait_for(dashboard_let_go.wait(), 10)  # and the connection to the dashboard is let go


async def test_a_live_page_outlives_its_token_while_its_session_lasts(settings):
    """A live page's stream was closed when the token that opened it expired, though the page kept its session
    going: a wall screen's live figures stopped every quarter of an hour. It lasts to the session's end now."""
    more = asyncio.Event()
    async with _gateway_before_a_quiet_live_page(settings, more) as (here, url, _):
        person = await here.client_for(Role.OFFICE, person=True)
        _, claims = await _signed_in_on_the_pages(here, person)
        expiring = _aged(here, claims, lived_s=900 - 5)  # good for five more seconds
        expires = here.runtime.deps.issuer.verify(expiring).exp
        async with httpx.AsyncClient(base_url=url, cookies={SESSION_COOKIE: expiring}, timeout=30) as browser, \
                browser.stream("GET", "/ui/stream") as live:
            assert live.status_code == 200 and live.headers["cache-control"] == "private, no-store"
            chunks = live.aiter_raw()
            assert await asyncio.wait_for(anext(chunks), 10) == b": open\n\n"
            # the token expires, and the gateway checks the stream again twice (every 0.5 s) after it
            await wait_until(lambda: time.time() > expires + 1.0, timeout=10)
            more.set()
            assert await asyncio.wait_for(anext(chunks), 10) == b": more\n\n"  # still open


async def _rest(chunks) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def test_a_person_the_pages_are_not_for_reads_why_on_a_page_and_can_sign_out(gw):
    """An administrator signed in at /ui/login got the problem document in English for every page, with no way to
    sign out."""
    admin = await gw.client_for(Role.ADMIN, person=True)
    signed_in = await gw.http.post("/ui/login", data={"username": admin["username"], "password": admin["secret"],
                                                      "next": "/ui/"})
    cookies = dict(signed_in.cookies.items())
    page = await gw.http.get("/ui/clues", cookies=cookies, headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "无权使用本页面" in page.text and 'action="/ui/logout"' in page.text
    api = await gw.http.get("/ui/clues", cookies=cookies, headers={"accept": "application/json"})
    assert api.status_code == 403 and is_problem(api)


async def test_credentials_no_account_can_have_are_refused_as_bad_requests_not_server_faults(gw):
    for basic in (base64.b64encode(b"jspc_x\x00:secret"), b"\xc3\xa4\xc3\xb6"):  # a NUL byte; not even ASCII
        resp = await gw.http.post("/auth/token", data={"grant_type": "client_credentials"},
                                  headers={"authorization": b"Basic " + basic})
        assert resp.status_code == 400 and is_problem(resp), resp.text
        assert resp.json()["detail"] == "malformed Basic authorization header"
    page = await gw.http.post("/ui/login", data={"username": "office\x00", "password": "x", "next": "/ui/"})
    assert page.status_code == 303 and "error=1" in page.headers["location"], page.text


async def test_api_keys_work_directly_and_for_a_token_until_revoked(gw, actors):
    system = await gw.client_for(Role.HOTLINE)
    admin = actors["admin"]["headers"]
    issued = await gw.http.post(f"/admin/clients/{system['client_id']}/credentials", headers=admin,
                                json={"kind": "api_key"})
    assert issued.status_code == 201, issued.text
    key, key_id = issued.json()["secret"], issued.json()["credential_id"]
    assert (await gw.http.get("/auth/me", headers={"X-API-Key": key})).status_code == 200
    status, body = await _token(gw, grant_type="client_credentials", client_id=system["client_id"],
                                client_secret=key)
    assert status == 200
    key_token = {"Authorization": f"Bearer {body['access_token']}"}
    # stored hashed: nothing in the database holds the key itself
    listed = (await gw.http.get("/admin/clients", headers=admin)).text
    assert key not in listed and system["secret"] not in listed

    revoked = await gw.http.post(f"/admin/clients/{system['client_id']}/credentials/{key_id}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await gw.http.get("/auth/me", headers={"X-API-Key": key})).status_code == 401
    assert (await gw.http.get("/auth/me", headers=key_token)).status_code == 401
    # the client secret and its token are untouched
    assert (await gw.http.get("/auth/me", headers=system["headers"])).status_code == 200


async def test_a_credential_resent_with_its_idempotency_key_is_issued_once_and_its_secret_never_kept(gw, actors):
    """Secrets are shown once, never stored: a request resent with its Idempotency-Key gets its first answer again,
    which was kept (about a day, in the gateway's database) with the plaintext secret, API key or password and
    served again to the resend. Now the answer is kept without it, saying it was shown once."""
    admin = actors["admin"]["headers"]
    system = await gw.client_for(Role.HOTLINE)
    username = unique("person")
    requests = [(f"/admin/clients/{system['client_id']}/credentials", {"kind": "api_key"}),
                ("/admin/clients", {"name": "郑州市市场监管局值班员", "kind": "person", "roles": ["office"],
                                    "username": username})]
    shown = []
    for path, body in requests:
        key = {**admin, "Idempotency-Key": unique("issue")}
        first = await gw.http.post(path, headers=key, json=body)
        assert first.status_code == 201, first.text
        issued = first.json().get("credential", first.json())
        assert issued["secret"]
        shown.append(issued["secret"])
        again = await gw.http.post(path, headers=key, json=body)
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true", again.text
        resent = again.json().get("credential", again.json())
        assert resent["credential_id"] == issued["credential_id"] and resent["secret"] is None
        assert "shown once" in resent["secret_not_kept"] and issued["secret"] not in again.text
        async with gw.runtime.db.transaction() as session:
            kept = list(await session.scalars(text("SELECT body FROM http_answers WHERE position(:id IN body) > 0"),
                                              {"id": issued["credential_id"].encode()}))
        assert len(kept) == 1 and issued["secret"].encode() not in kept[0]
    # each credential issued once, and working
    listed = {c["client_id"]: c for c in (await gw.http.get("/admin/clients", headers=admin)).json()}
    assert [c["kind"] for c in listed[system["client_id"]]["credentials"]].count("api_key") == 1
    assert [c["username"] for c in listed.values()].count(username) == 1
    assert (await gw.http.get("/auth/me", headers={"X-API-Key": shown[0]})).status_code == 200
    assert (await gw.http.post("/auth/login", json={"username": username, "password": shown[1]})).status_code == 200


async def test_rotation_keeps_the_old_secret_for_the_grace_period_only(gw, actors):
    system = await gw.client_for(Role.BUREAU)
    admin = actors["admin"]["headers"]
    keep = await gw.http.post(f"/admin/clients/{system['client_id']}/credentials", headers=admin,
                              json={"kind": "secret", "retire_previous_after_s": 3600})
    new_secret = keep.json()["secret"]
    for secret in (system["secret"], new_secret):
        status, _ = await _token(gw, grant_type="client_credentials", client_id=system["client_id"],
                                 client_secret=secret)
        assert status == 200
    now = await gw.http.post(f"/admin/clients/{system['client_id']}/credentials", headers=admin,
                             json={"kind": "secret", "retire_previous_after_s": 0})
    results = [await _token(gw, grant_type="client_credentials", client_id=system["client_id"], client_secret=s)
               for s in (system["secret"], new_secret, now.json()["secret"])]
    assert [s for s, _ in results] == [401, 401, 200]
    assert (await gw.http.get("/auth/me", headers=system["headers"])).status_code == 401


async def test_two_rotations_at_the_same_moment_leave_one_secret_working(gw, actors):
    """A double click on "rotate, retire the old one now": the second rotation retires the first one's secret
    too, even when it comes while the first is still being written."""
    system = await gw.client_for(Role.BUREAU)
    async with gw.runtime.db.transaction() as session:
        first = await clients.issue_credential(gw.runtime.deps, SessionTx(session, gw.runtime.source), system["client_id"],
                                               CredentialKind.SECRET, by="admin", retire_previous_after_s=0)
        second = asyncio.create_task(gw.http.post(f"/admin/clients/{system['client_id']}/credentials",
                                                  headers=actors["admin"]["headers"],
                                                  json={"kind": "secret", "retire_previous_after_s": 0}))
        await until_waiting_or_done(gw.runtime.db, second, what="the second rotation")
    r = await second
    assert r.status_code == 201, r.text
    results = [await _token(gw, grant_type="client_credentials", client_id=system["client_id"], client_secret=s)
               for s in (system["secret"], first.secret, r.json()["secret"])]
    assert [s for s, _ in results] == [401, 401, 200]


async def test_a_disabled_client_is_locked_out_at_once(gw, actors):
    system = await gw.client_for(Role.HOTLINE)
    admin = actors["admin"]["headers"]
    off = await gw.http.post(f"/admin/clients/{system['client_id']}/status", headers=admin, json={"status": "disabled"})
    assert off.status_code == 200
    assert (await gw.http.get("/auth/me", headers=system["headers"])).status_code == 401
    status, _ = await _token(gw, grant_type="client_credentials", client_id=system["client_id"],
                             client_secret=system["secret"])
    assert status == 401
    await gw.http.post(f"/admin/clients/{system['client_id']}/status", headers=admin, json={"status": "active"})
    assert (await gw.http.get("/auth/me", headers=system["headers"])).status_code == 200


async def test_clients_are_checked_when_created(gw, actors):
    admin = actors["admin"]["headers"]
    no_dept = await gw.http.post("/admin/clients", headers=admin,
                                 json={"name": "x", "kind": "system", "roles": ["department"]})
    bad_dept = await gw.http.post("/admin/clients", headers=admin,
                                  json={"name": "x", "kind": "system", "roles": ["department"],
                                        "department": "samr-999999"})
    assert no_dept.status_code == bad_dept.status_code == 422
    assert is_problem(no_dept) and "department" in no_dept.json()["detail"]
    created = await gw.http.post("/admin/clients", headers=admin,
                                 json={"name": "郑州市市场监管局业务系统", "kind": "system", "roles": ["department"],
                                       "department": DEPARTMENT})
    assert created.status_code == 201 and created.json()["client"]["division"] == "410100"
    status, _ = await _token(gw, grant_type="client_credentials", client_id=created.json()["client"]["client_id"],
                             client_secret=created.json()["credential"]["secret"])
    assert status == 200


async def test_the_admin_command_creates_the_first_office_account_once(gw, gateway_db):
    username = unique("office")
    env_db = {"JSP_GATEWAY_DATABASE_URL": gateway_db}

    def run(*args):
        import os

        return subprocess.run([sys.executable, "-m", "gateway", "create-office-account", "--username", username,
                               *args], capture_output=True, text=True, env={**os.environ, **env_db}, timeout=60)

    first = await asyncio.to_thread(run)
    assert first.returncode == 0, first.stderr
    password = first.stdout.split("password=")[1].split()[0]
    again = await asyncio.to_thread(run, "--if-missing")
    assert again.returncode == 0 and "exists already" in again.stdout
    login = await gw.http.post("/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200 and set(login.json()["roles"]) == {"office", "admin"}


async def test_make_runs_office_account_takes_a_generated_password_that_begins_with_a_dash(gw, gateway_db):
    """`make run` generates the local office account's password (token_urlsafe: "-" is one of its characters) and
    creates the account through the admin command: a password beginning with "-" is the password, not an option."""
    import os

    from jsp_testkit import front_door

    username, password = unique("office"), "-Gx3_generated"
    env = {**os.environ, "JSP_GATEWAY_DATABASE_URL": gateway_db}
    said = await asyncio.to_thread(front_door.create_office_account, env, username, password, if_missing=True)
    assert "exists already" not in said
    login = await gw.http.post("/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
