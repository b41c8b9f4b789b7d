"""Through the gateway, with the real services behind it: dual notification and the hotline loop."""

from __future__ import annotations

from jsp_common import tracing
from jsp_testkit.testing import of_type, tail, unique, wait_until

from jsp_testkit import front_door, samples

OTHER = "samr-410200"


async def test_bureau_registration_reaches_the_department_which_acknowledges(front, clients, office, bootstrap):
    bureau = await clients.system("bureau")
    data = samples.food_business_in_zhengzhou()
    trace = tracing.new_traceparent()
    async with tail(bootstrap, "market.registration-receipts.v1") as receipts:
        resp = await front.post("/ingest/registrations", json={"type": "market.entity.registered.v1", "data": data},
                                headers={**bureau["headers"], "Idempotency-Key": unique("reg"), "traceparent": trace})
        assert resp.status_code == 202, resp.text
        [receipt] = await receipts.wait_for(of_type("registry.registration.accepted.v1", uscc=data["uscc"]),
                                            timeout=60)
    # the trace started by the sender's HTTP call continues onto the registry's receipt
    assert receipt.envelope.trace_id == tracing.trace_id_of(trace)
    # no rule matched: it waits in adjudication until the office assigns it
    departments = await front_door.responsible_departments(front, office["headers"], receipt.envelope.data,
                                                           otherwise="samr-410100")
    department = departments[0]
    dept = await clients.system("department", department=department)
    other = await clients.system("department", department=OTHER if department != OTHER else "samr-410300")

    async def notification():
        page = await front.get("/registry/notifications", params={"uscc": data["uscc"]}, headers=dept["headers"])
        assert page.status_code == 200, page.text
        return page.json()["items"]
    [note] = await wait_until(notification, timeout=60, what="the department's notification")
    assert note["department"] == department

    assert (await front.get(f"/registry/notifications/{note['id']}", headers=other["headers"])).status_code == 404
    assert (await front.post(f"/registry/notifications/{note['id']}/acknowledgement",
                             headers=other["headers"])).status_code == 404
    # Acknowledgement (签收) is the notified department's own act: the gateway refuses the office by the same
    # route × role matrix the registry checks, rather than letting it through to be refused there.
    refused = await front.post(f"/registry/notifications/{note['id']}/acknowledgement", headers=office["headers"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"] == "this route needs one of the roles: department"
    key = {"Idempotency-Key": unique("ack")}
    ack = await front.post(f"/registry/notifications/{note['id']}/acknowledgement", headers={**dept["headers"], **key})
    assert ack.status_code == 200, ack.text
    # The department's system lost the answer and sends it again: the same answer, nothing done twice.
    resent = await front.post(f"/registry/notifications/{note['id']}/acknowledgement",
                              headers={**dept["headers"], **key})
    assert (resent.status_code, resent.json(), resent.headers.get("idempotent-replayed")) == (200, ack.json(), "true")
    again = await front.get(f"/registry/notifications/{note['id']}", headers=dept["headers"])
    assert again.json()["acknowledged_at"]

    entity = await front.get(f"/entities/{data['uscc']}/360", headers=dept["headers"])
    assert entity.status_code == 200 and entity.json()["complete"], entity.text
    assert entity.json()["registry"]["name"] == data["name"]
    # nothing is known against a new business: no class published, it counts as B (as the inspection samples it)
    assert entity.json()["credit"]["credit_class"] == "B" and entity.json()["credit"]["rated"] is False


async def test_hotline_work_order_is_handled_by_the_department_and_the_hotline_reads_the_reply(
        front, clients, office, bootstrap):
    hotline = await clients.system("hotline")
    order = samples.work_order(samples.food_business_in_zhengzhou())
    order["content"] = f"{order['business_name']}销售过期食品，消费者购买后发现已过保质期，要求查处。"
    async with tail(bootstrap, "hotline.replies.v1") as replies:
        resp = await front.post("/ingest/work-orders", headers={**hotline["headers"], "Idempotency-Key": unique("wo")},
                                json={"type": "hotline.work-order.submitted.v1", "data": order})
        assert resp.status_code == 202, resp.text
        [accepted] = await replies.wait_for(
            of_type("clues.submission.accepted.v1", channel_ref=order["work_order_no"]), timeout=60)
        clue_id = accepted.envelope.data["clue_id"]

        clue = (await front.get(f"/clues/clues/{clue_id}", headers=office["headers"])).json()
        lead = clue.get("lead_department")
        if not lead:  # not routable automatically: the office dispatches it by hand
            lead = "samr-410100"
            done = await front.post(f"/clues/clues/{clue_id}/dispatch", headers=office["headers"],
                                    json={"lead": lead, "co": []})
            assert done.status_code == 200, done.text
        dept = await clients.system("department", department=lead)
        other = await clients.system("department", department=OTHER if lead != OTHER else "samr-410300")
        assert (await front.get(f"/clues/clues/{clue_id}", headers=other["headers"])).status_code == 404
        seen = (await front.get(f"/clues/clues/{clue_id}", headers=dept["headers"])).json()
        assert "****" in seen["caller_phone"]  # masked for departments
        in_clear = (await front.get(f"/clues/clues/{clue_id}", headers=hotline["headers"])).json()
        assert in_clear["caller_phone"] == order["caller_phone"]

        for action, body in (("accept", None), ("verify", None),
                             ("handle", {"finding": "substantiated", "measures": "责令下架过期食品，立案调查"}),
                             ("reply", {"text": "经核查，反映情况属实，已责令整改并立案调查。"})):
            step = await front.post(f"/clues/clues/{clue_id}/{action}", headers=dept["headers"], json=body)
            assert step.status_code == 200, f"{action}: {step.text}"
        await replies.wait_for(of_type("clues.reply.published.v1"), timeout=60)

    reply = await front.get(f"/clues/work-orders/{order['work_order_no']}/reply", headers=hotline["headers"])
    assert reply.status_code == 200, reply.text
    assert reply.json()["finding"] == "substantiated" and reply.json()["state"] == "replied"
