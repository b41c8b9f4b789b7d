"""The audit log: every call audited and office-readable (sign-ins with the account tried), append-only,
purged past its retention only, kept while the database is away."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from jsp_common.db import Database
from jsp_common.principal import Role
from jsp_testkit.testing import unique, wait_until

from jsp_testkit import samples

from .conftest import is_problem


async def test_every_call_is_audited_and_the_office_can_query_it(gw, actors):
    dept = await gw.client_for(Role.DEPARTMENT, department="samr-410100")
    uscc = samples.new_uscc("410102")
    denied = await gw.http.get("/audit", headers=dept["headers"])
    await gw.http.get(f"/entities/{uscc}/360", headers=dept["headers"])
    assert denied.status_code == 403

    async def entries():
        resp = await gw.http.get("/audit", params={"subject": dept["client_id"]}, headers=actors["office"]["headers"])
        assert resp.status_code == 200
        rows = resp.json()
        return rows if {r["route"] for r in rows} >= {"/audit", "/entities/{uscc}/360"} else None

    rows = await wait_until(entries, timeout=10, what="audit entries")
    by_route = {r["route"]: r for r in rows}
    assert by_route["/audit"]["outcome"] == "denied" and by_route["/audit"]["status"] == 403
    e360 = by_route["/entities/{uscc}/360"]
    assert e360["object_id"] == uscc and e360["department"] == "samr-410100" and e360["request_id"]
    assert e360["trace_id"] and e360["method"] == "GET" and e360["outcome"] == "ok"  # degraded, not failed
    anonymous = await gw.http.get("/auth/me")
    assert anonymous.status_code == 401
    rid = anonymous.headers["x-request-id"]

    async def anonymous_entry():
        rows = (await gw.http.get("/audit", params={"route": "/auth/me", "outcome": "denied"},
                                  headers=actors["office"]["headers"])).json()
        return [r for r in rows if r["request_id"] == rid]
    [row] = await wait_until(anonymous_entry, timeout=10, what="the anonymous call's entry")
    assert row["subject"] is None


async def test_a_sign_in_is_audited_with_the_account_or_client_it_tried(gw, actors):
    """A token asked for, right or wrong, names on the audit log the account or client it was for (the entry had
    no subject and no object: the office could not tell who signed in, or which account was being guessed)."""
    account, client = unique("nobody"), unique("no-client")
    assert (await gw.http.post("/auth/login", json={"username": account, "password": "guess"})).status_code == 401
    assert (await gw.http.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client,
                                                     "client_secret": "guess"})).status_code == 401

    async def entries():
        rows = (await gw.http.get("/audit", params={"limit": 500}, headers=actors["office"]["headers"])).json()
        tried = {(r["route"], r["object_id"]) for r in rows}
        return tried if {("/auth/login", account), ("/auth/token", client)} <= tried else None
    await wait_until(entries, timeout=10, what="both attempts' audit entries")


async def test_audit_entries_wait_while_the_database_is_away_none_dropped(settings):
    """Callers keep recording while the database is away (their calls need no database): a batch that failed to
    be written went back into the queue the waiting callers had just filled, and was dropped there."""
    from gateway.adapters.audit import AuditWriter

    away = Database(f"{settings.postgres_url}/{unique('no_such_database').replace('-', '_')}")  # every write fails
    writer = AuditWriter(away, batch_size=5, flush_interval_s=0.01, queue_max=10)
    recording = [asyncio.create_task(writer.record({"n": n})) for n in range(30)]

    async def full() -> bool:
        return writer.queue.full()
    try:
        await wait_until(full, what="the queue full")
        with pytest.raises(Exception):   # the callers it made room for recorded while it tried the database
            await writer.flush()
        assert writer.queue.full() and len(writer.held) == 5
        assert writer.queue.qsize() + len(writer.held) + sum(not r.done() for r in recording) == 30
    finally:
        for r in recording:
            r.cancel()
        await away.dispose()


async def test_the_audit_log_cannot_be_edited_or_deleted(gw):
    async with gw.runtime.db.engine.connect() as conn:
        for stmt in ("UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(stmt))
            await conn.rollback()
    doc = (await gw.http.get("/openapi.json")).json()
    assert {(p, m) for p, item in doc["paths"].items() for m in item if p.startswith("/audit")} == {("/audit", "get")}


async def test_only_entries_past_retention_are_purged(gw):
    from datetime import timedelta

    from jsp_common import clock
    from gateway.adapters.repositories import purge_audit
    from gateway.adapters.tables import audit_log

    subject = unique("purge")
    entry = dict(subject=subject, method="GET", route="/audit", path="/audit", status=200, outcome="ok")
    async with gw.runtime.db.transaction() as s:
        await s.execute(audit_log.insert(), [{**entry, "at": clock.now() - timedelta(days=200)},
                                             {**entry, "at": clock.now() - timedelta(days=10)}])
    async with gw.runtime.db.transaction() as s:
        await purge_audit(s, retention_days=190)
    async with gw.runtime.db.transaction() as s:
        left = (await s.execute(audit_log.select().where(audit_log.c.subject == subject))).all()
    assert len(left) == 1 and clock.now() - left[0].at < timedelta(days=11)  # the recent one stays


async def test_a_path_holding_a_nul_byte_is_audited_and_the_audit_goes_on(gw, actors):
    """A caller may put %00 in a path (PostgreSQL's text cannot hold it): the call is refused (400), audited
    with the byte shown as U+FFFD, and every call after it is audited too."""
    office = actors["office"]["headers"]
    odd_path = f"/entities/{unique('nul')}%00/360"
    odd = await gw.http.get(odd_path, headers=office)
    assert odd.status_code == 400 and is_problem(odd), odd.text
    later = (await gw.http.get("/auth/me", headers=office)).headers["x-request-id"]
    stored = odd_path.replace("%00", "\ufffd")

    async def both():
        rows = (await gw.http.get("/audit", params={"limit": 500}, headers=office)).json()
        mine = [r for r in rows if r["path"] == stored]
        return mine if mine and later in {r["request_id"] for r in rows} else None
    [entry] = await wait_until(both, timeout=10, what="both calls' audit entries")
    assert entry["status"] == 400 and entry["method"] == "GET"
