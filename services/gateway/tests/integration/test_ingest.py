"""Ingest over HTTP: onto the same topic with the same envelope; Idempotency-Key gives one effect."""

from __future__ import annotations

import asyncio

from jsp_common import tracing
from jsp_testkit.testing import of_type, tail, unique

from jsp_testkit import samples

from .conftest import is_problem

REGISTERED = "market.entity.registered.v1"


async def test_bureau_registration_lands_on_the_bureau_topic_with_the_envelope_and_trace(gw, actors, bootstrap):
    data = samples.registration()
    trace = tracing.new_traceparent()
    async with tail(bootstrap, "market.registrations.v1") as t:
        resp = await gw.http.post("/ingest/registrations", json={"type": REGISTERED, "data": data},
                                  headers={**actors["bureau"]["headers"], "traceparent": trace})
        assert resp.status_code == 202, resp.text
        [msg] = await t.wait_for(of_type(REGISTERED, uscc=data["uscc"]))
    env = msg.envelope
    assert msg.key == data["uscc"]
    assert env.id == resp.json()["event_id"]
    assert env.source == f"/jsp/gateway/ingest/{actors['bureau']['client_id']}"
    assert env.trace_id == tracing.trace_id_of(trace) == resp.json()["trace_id"]
    assert env.data["name"] == data["name"]


async def test_a_resent_post_with_the_same_idempotency_key_has_one_effect(gw, actors, bootstrap):
    data = samples.work_order()
    headers = {**actors["hotline"]["headers"], "Idempotency-Key": unique("idem")}
    body = {"type": "hotline.work-order.submitted.v1", "data": data}
    async with tail(bootstrap, "hotline.work-orders.v1") as t:
        first, *resent = await asyncio.gather(*(gw.http.post("/ingest/work-orders", json=body, headers=headers)
                                                for _ in range(4)))
        again = await gw.http.post("/ingest/work-orders", json=body, headers=headers)
        await t.wait_for(of_type("hotline.work-order.submitted.v1", work_order_no=data["work_order_no"]))
        # the sentinel: a later message with a fresh key proves the topic was read past any duplicate
        sentinel = {**body, "data": samples.work_order()}
        await gw.http.post("/ingest/work-orders", json=sentinel, headers={**actors["hotline"]["headers"],
                                                                          "Idempotency-Key": unique("idem")})
        await t.wait_for(of_type("hotline.work-order.submitted.v1",
                                 work_order_no=sentinel["data"]["work_order_no"]))
    answers = [first, *resent, again]
    assert {r.status_code for r in answers} == {202}
    assert len({r.json()["event_id"] for r in answers}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in answers) == 4
    assert len(t.events("hotline.work-order.submitted.v1")) == 2  # the order once, and the sentinel


async def test_reusing_a_key_for_a_different_request_is_refused(gw, actors):
    headers = {**actors["hotline"]["headers"], "Idempotency-Key": unique("idem")}
    ok = await gw.http.post("/ingest/work-orders", headers=headers,
                            json={"type": "hotline.work-order.submitted.v1", "data": samples.work_order()})
    other = await gw.http.post("/ingest/work-orders", headers=headers,
                               json={"type": "hotline.work-order.submitted.v1", "data": samples.work_order()})
    assert ok.status_code == 202
    assert other.status_code == 409 and is_problem(other)  # the key is taken by another request
    assert "Idempotency-Key" in other.json()["detail"]


async def test_an_invalid_event_is_refused_with_field_reasons_and_nothing_published(gw, actors, bootstrap):
    data = samples.registration()
    data["uscc"] = data["uscc"][:-1] + ("0" if data["uscc"][-1] != "0" else "1")  # wrong check character
    data["division_code"] = "110101"  # Beijing, not Henan
    async with tail(bootstrap, "market.registrations.v1") as t:
        resp = await gw.http.post("/ingest/registrations", json={"type": REGISTERED, "data": data},
                                  headers=actors["bureau"]["headers"])
        await t.poll()
    assert resp.status_code == 422 and is_problem(resp)
    fields = {e["field"] for e in resp.json()["errors"]}
    assert {"data.uscc", "data.division_code"} <= fields
    assert not [m for m in t.received if data["name"] in m.value.decode()]


async def test_an_event_time_without_its_offset_is_refused(gw, actors):
    """The envelope's time goes onto the topic as the contract's RFC 3339 date-time: a sender's local time
    without an offset (or a bare date) would reach the departments' systems as a time they cannot parse."""
    for time in ("2026-03-02T09:00:00", "2026-03-02"):
        resp = await gw.http.post("/ingest/registrations", headers=actors["bureau"]["headers"],
                                  json={"type": REGISTERED, "data": samples.registration(), "time": time})
        assert resp.status_code == 422 and is_problem(resp), resp.text
        assert [e["field"] for e in resp.json()["errors"]] == ["body.time"]
    with_offset = await gw.http.post("/ingest/registrations", headers=actors["bureau"]["headers"], json={
        "type": REGISTERED, "data": samples.registration(), "time": "2026-03-02T09:00:00+08:00"})
    assert with_offset.status_code == 202, with_offset.text


async def test_an_event_type_of_another_feed_is_refused(gw, actors):
    resp = await gw.http.post("/ingest/registrations", headers=actors["bureau"]["headers"],
                              json={"type": "hotline.work-order.submitted.v1", "data": samples.work_order()})
    assert resp.status_code == 422 and is_problem(resp)
    assert "market.registrations.v1" in resp.json()["detail"]
