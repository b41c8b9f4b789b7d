"""A 12345 work order from the hotline topic to the department topics, handled, replied on the hotline's
topic and closed; a return and re-dispatch; personal details encrypted, masked and scoped."""

from __future__ import annotations

from datetime import datetime

from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, unique

from .conftest import HOTLINE_P, HOTLINE_REPLIES, LIFECYCLE

SAMR_ZZ, NHC_ZZ = "dept.samr-410100.clues.v1", "dept.nhc-410100.clues.v1"
PHONE = "13812345678"


async def test_work_order_routed_handled_replied_closed(service, bootstrap):
    no = unique("WO")
    content = "我在郑州市金水区花园路8号的好味道餐馆吃饭后全家食物中毒，怀疑食品过期变质，请相关部门查处。"
    async with tail(bootstrap, SAMR_ZZ, NHC_ZZ, HOTLINE_REPLIES, LIFECYCLE) as t:
        await service.work_order(no, content, address="河南省郑州市金水区花园路8号", business_name="好味道餐馆",
                                 uscc=new_uscc(), caller_name="张三", caller_phone=PHONE)
        receipt = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=no)))[0].envelope.data
        clue_id = receipt["clue_id"]
        lead = (await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=clue_id, department="samr-410100")))[0]
        co = (await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=clue_id, department="nhc-410100")))[0]
    assert receipt["state"] == "dispatched"
    assert lead.topic == SAMR_ZZ and co.topic == NHC_ZZ
    assert lead.envelope.data["role"] == "lead" and co.envelope.data["role"] == "co"
    assert lead.envelope.data["domain"] == "food" and lead.envelope.data["division_code"] == "410105"
    # Personal details: masked in every event, encrypted at rest.
    assert lead.envelope.data["caller_phone"] == "138****5678" and lead.envelope.data["caller_name"] == "张*"
    assert PHONE.encode() not in lead.value and PHONE.encode() not in co.value
    row = await service.clue("hotline", no)
    assert PHONE.encode() not in bytes(row["caller_phone_enc"]) and row["caller_phone_masked"] == "138****5678"

    # Scoping: the lead and co-handler see it (masked); another department gets 404; office and hotline see the phone.
    samr, nhc, mem = dept("samr-410100"), dept("nhc-410100"), dept("mem-410100")
    r = await service.client.get(f"/clues/{clue_id}", headers=samr)
    assert r.status_code == 200 and r.json()["caller_phone"] == "138****5678"
    assert (await service.client.get(f"/clues/{clue_id}", headers=nhc)).status_code == 200
    r = await service.client.get(f"/clues/{clue_id}", headers=mem)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()["caller_phone"] == PHONE
    assert (await service.client.get(f"/clues/{clue_id}", headers=HOTLINE_P)).json()["caller_name"] == "张三"
    listed = {d: [c["id"] for c in (await service.client.get(
        "/clues", params={"state": "dispatched", "channel": "hotline", "limit": 500}, headers=h)).json()]
        for d, h in (("samr", samr), ("mem", mem))}
    assert clue_id in listed["samr"] and clue_id not in listed["mem"]
    # A filter value that is not a state is refused with the states there are (not an empty list).
    r = await service.client.get("/clues", params={"state": "dispached"}, headers=samr)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "'dispatched'" in r.text and "state" in r.text
    assert (await service.post(f"/clues/{clue_id}/accept", mem)).status_code == 404
    assert (await service.post(f"/clues/{clue_id}/accept", nhc)).status_code == 403

    # An action the state does not allow is refused with a clear message.
    r = await service.post(f"/clues/{clue_id}/handle", samr, {"finding": "substantiated", "measures": "x"})
    assert r.status_code == 409 and "cannot handle a clue that is dispatched" in r.json()["detail"]

    async with tail(bootstrap, HOTLINE_REPLIES, SAMR_ZZ) as t:
        for path, body in (("accept", None), ("verify", None),
                           ("handle", {"finding": "partly", "measures": "责令停业整改，没收过期食品，罚款2万元"})):
            r = await service.post(f"/clues/{clue_id}/{path}", samr, body)
            assert r.status_code == 200, r.text
        # Handled, not replied yet: the finding is the department's own record; the hotline has no outcome yet.
        assert await outcome(service, no) == ("handled", None, None, None, None)
        r = await service.post(f"/clues/{clue_id}/reply", samr, {"text": "经核查，反映情况部分属实，已责令整改并立案处罚。"})
        assert r.status_code == 200, r.text
        reply = (await t.wait_for(of_type("clues.reply.published.v1", channel_ref=no)))[0]
        assert reply.topic == HOTLINE_REPLIES and reply.key == no
        assert reply.envelope.data["finding"] == "partly" and reply.envelope.data["lead_department"] == "samr-410100"
        r = await service.client.get(f"/work-orders/{no}/reply", headers=HOTLINE_P)
        assert r.json()["state"] == "replied" and "部分属实" in r.json()["reply_text"]
        assert r.json()["finding"] == "partly" and r.json()["replied_at"] is not None

        assert (await service.post(f"/clues/{clue_id}/close", HOTLINE_P)).json()["state"] == "closed"
        # An unsatisfied revisit reopens it: the department gets it again, with a new deadline.
        r = await service.post(f"/clues/{clue_id}/revisit", HOTLINE_P, {"satisfied": False, "comment": "仍在营业"})
        assert r.json()["state"] == "dispatched" and r.json()["satisfaction"] == "unsatisfied"
        again = await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=clue_id, round=2))
        assert again[0].topic == SAMR_ZZ

    history = (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()["history"]
    assert [(h["action"], h["from_state"], h["to_state"]) for h in history] == [
        ("receive", None, "received"), ("dispatch", "received", "dispatched"), ("accept", "dispatched", "accepted"),
        ("verify", "accepted", "verifying"), ("handle", "verifying", "handled"), ("reply", "handled", "replied"),
        ("close", "replied", "closed"), ("reopen", "closed", "dispatched")]
    assert history[2]["actor"] == "officer@samr-410100" and history[2]["actor_department"] == "samr-410100"

    # Reopened: the last round's reply is no outcome of the clue as it is now; the caller's verdict on it is shown.
    assert await outcome(service, no) == ("dispatched", None, None, None, "unsatisfied")
    for path, body in (("accept", None), ("verify", None),
                       ("handle", {"finding": "substantiated", "measures": "吊销食品经营许可证"}),
                       ("reply", {"text": "经复查，该餐馆已被吊销食品经营许可证。"})):
        assert (await service.post(f"/clues/{clue_id}/{path}", samr, body)).status_code == 200
    # The new reply, not yet judged by the caller.
    assert await outcome(service, no) == ("replied", "substantiated", "吊销食品经营许可证", "经复查，该餐馆已被吊销食品经营许可证。",
                                          None)
    # Closed and revisited, satisfied: that verdict stands (a second revisit of the reply reopened the clue)
    assert (await service.post(f"/clues/{clue_id}/close", HOTLINE_P)).status_code == 200
    assert (await service.post(f"/clues/{clue_id}/revisit", HOTLINE_P, {"satisfied": True})).status_code == 200
    r = await service.post(f"/clues/{clue_id}/revisit", HOTLINE_P, {"satisfied": False, "comment": "改口不满意"})
    assert r.status_code == 409 and r.json()["satisfaction"] == "satisfied", r.text
    assert await outcome(service, no) == ("closed", "substantiated", "吊销食品经营许可证", "经复查，该餐馆已被吊销食品经营许可证。",
                                          "satisfied")


async def outcome(service, no: str) -> tuple:
    """What the hotline reads of its work order's outcome: state, finding, measures, reply, satisfaction."""
    r = await service.client.get(f"/work-orders/{no}/reply", headers=HOTLINE_P)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["replied_at"] is None) == (got["reply_text"] is None)
    return got["state"], got["finding"], got["measures"], got["reply_text"], got["satisfaction"]


async def test_return_redispatch_and_arbitration(service, bootstrap):
    no = unique("WO")
    async with tail(bootstrap, "dept.samr-410300.clues.v1", "dept.mohurd-410300.clues.v1", HOTLINE_REPLIES) as t:
        await service.work_order(no, "洛阳市西工区某小区电梯经常困人，物业不管。", address="河南省洛阳市西工区中州路12号",
                                 uscc=new_uscc("410303"))
        rec = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=no)))[0].envelope.data
        clue_id = rec["clue_id"]
        await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=clue_id, department="samr-410300"))
        samr, mohurd = dept("samr-410300"), dept("mohurd-410300")
        r = await service.post(f"/clues/{clue_id}/return", samr, {"reason": "小区物业管理问题，属住建部门职责"})
        assert r.status_code == 200 and r.json()["state"] == "returned"
        # The queue: unroutable clues, then returned ones, the longest waiting first, page by page.
        later = unique("WO")
        await service.work_order(later, "洛阳市西工区另一小区电梯困人。", address="河南省洛阳市西工区中州路14号",
                                 uscc=new_uscc("410303"))
        later_id = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=later)))[0].envelope.data[
            "clue_id"]
        await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=later_id, department="samr-410300"))
        assert (await service.post(f"/clues/{later_id}/return", samr, {"reason": "物业问题"})).status_code == 200
        whole = (await service.client.get("/queue/manual-dispatch", headers=OFFICE, params={"limit": 500})).json()
        ids = [c["id"] for c in whole]
        assert ids.index(clue_id) < ids.index(later_id)
        pages = [(await service.client.get("/queue/manual-dispatch", headers=OFFICE,
                                           params={"limit": 2, "offset": n})).json() for n in range(0, len(whole), 2)]
        assert [c["id"] for page in pages for c in page] == [c["id"] for c in whole]
        order = [(c["state"] != "pending_dispatch", datetime.fromisoformat(c["received_at"])) for c in whole]
        assert order == sorted(order)
        assert (await service.post(f"/clues/{clue_id}/dispatch", samr, {"lead": "mohurd-410300"})).status_code == 403
        r = await service.post(f"/clues/{clue_id}/dispatch", OFFICE, {"lead": "mohurd-410300", "co": ["samr-410300"]})
        assert r.status_code == 200 and r.json()["lead_department"] == "mohurd-410300"
        got = (await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=clue_id, department="mohurd-410300")))[0]
        assert got.envelope.data["round"] == 2 and got.envelope.data["role"] == "lead"
        # mohurd returns it too; the office arbitrates: it cannot be returned again (no ping-pong).
        assert (await service.post(f"/clues/{clue_id}/return", mohurd, {"reason": "电梯属特种设备"})).status_code == 200
        r = await service.post(f"/clues/{clue_id}/dispatch", OFFICE,
                               {"lead": "samr-410300", "arbitrate": True, "note": "电梯安全属特种设备监管"})
        assert r.status_code == 200 and r.json()["arbitrated"] is True
    r = await service.post(f"/clues/{clue_id}/return", samr, {"reason": "again"})
    assert r.status_code == 409 and "arbitrated" in r.json()["detail"]
    assert (await service.post(f"/clues/{clue_id}/accept", samr)).json()["state"] == "accepted"
    # The returning department no longer sees the clue.
    assert (await service.client.get(f"/clues/{clue_id}", headers=mohurd)).status_code == 404
    actions = [h["action"] for h in (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()["history"]]
    assert actions == ["receive", "dispatch", "return", "redispatch", "return", "arbitrate", "accept"]

    # Handled, replied and closed; the caller is not satisfied: the clue is reopened to the department the office
    # arbitrated it to, still arbitrated, and that department cannot return it now either.
    for path, who, body in (("verify", samr, None), ("handle", samr, {"finding": "substantiated", "measures": "整改"}),
                            ("reply", samr, {}), ("close", HOTLINE_P, None)):
        assert (await service.post(f"/clues/{clue_id}/{path}", who, body)).status_code == 200
    async with tail(bootstrap, "dept.samr-410300.clues.v1") as t:
        r = await service.post(f"/clues/{clue_id}/revisit", HOTLINE_P, {"satisfied": False, "comment": "电梯仍困人"})
        assert r.status_code == 200 and r.json()["state"] == "dispatched" and r.json()["arbitrated"] is True
        [reopened] = await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=clue_id, round=4))
    assert reopened.envelope.data["arbitrated"] is True
    r = await service.post(f"/clues/{clue_id}/return", samr, {"reason": "again"})
    assert r.status_code == 409 and "arbitrated" in r.json()["detail"], r.text
