"""Duplicates: linked to their first clue and answered by its reply, also one arriving while that clue is
answered; going with it wherever the office dispatches it, reopened to the departments that answered them (as
arbitrated when it was); a resent work order recognised; a repeat found among many open clues."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from jsp_common import clock
from jsp_common.outbox import SessionTx
from jsp_common.principal import Principal, Role
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, of_type, tail, unique, until_waiting_or_done, wait_until

from clues.usecases import dispatch, replies

from .conftest import HOTLINE_P, HOTLINE_REPLIES


async def _first_and_repeat(service, bootstrap) -> tuple[str, dict]:
    """A work order about a lift in Luoyang (the market regulator's, by the keywords) and a repeat of it, linked:
    the first clue's id and the repeat's receipt."""
    first_no, second_no = unique("WO"), unique("WO")
    business = new_uscc("410303")
    async with tail(bootstrap, HOTLINE_REPLIES) as t:
        await service.work_order(first_no, "洛阳市西工区某小区电梯经常困人，物业不管。", uscc=business,
                                 address="河南省洛阳市西工区中州路12号")
        clue_id = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=first_no)))[0] \
            .envelope.data["clue_id"]
        await service.work_order(second_no, "洛阳市西工区某小区的电梯经常困人，物业不管。", uscc=business)
        second = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=second_no)))[0].envelope.data
    assert second["state"] == "linked" and second["duplicate_of"] == clue_id
    return clue_id, second


async def test_duplicate_linked_answered_by_first_and_resend_recognised(service, bootstrap):
    first_no, second_no = unique("WO"), unique("WO")
    business = new_uscc("410104")
    async with tail(bootstrap, HOTLINE_REPLIES, "dept.samr-410100.clues.v1") as t:
        await service.work_order(first_no, "郑州市管城区老街烧烤店使用过期肉类，食品安全堪忧。", uscc=business,
                                 address="郑州市管城区东大街5号")
        first = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=first_no)))[0].envelope.data
        await service.work_order(second_no, "管城区老街烧烤店用过期肉类烤串，食品安全有问题。", uscc=business,
                                 caller_phone="13900001111")
        second = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=second_no)))[0].envelope.data
        assert second["state"] == "linked" and second["duplicate_of"] == first["clue_id"]
        # A resent work order is recognised: same clue, no new one.
        await service.work_order(first_no, "郑州市管城区老街烧烤店使用过期肉类，食品安全堪忧。", uscc=business)
        resent = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=first_no, resent=True)))[0]
        assert resent.envelope.data["clue_id"] == first["clue_id"]

        samr, clue_id = dept("samr-410100"), first["clue_id"]
        for path, body in (("accept", None), ("verify", None),
                           ("handle", {"finding": "substantiated", "measures": "没收过期肉类，罚款5000元"}),
                           ("reply", {})):
            assert (await service.post(f"/clues/{clue_id}/{path}", samr, body)).status_code == 200
        replies = await t.wait_for(lambda m: of_type("clues.reply.published.v1")(m)
                                   and m.key in (first_no, second_no), count=2)
    answered = next(m.envelope.data for m in replies if m.key == second_no)
    assert answered["answered_by_clue_id"] == clue_id and answered["finding"] == "substantiated"
    assert (await service.post(f"/clues/{clue_id}/close", HOTLINE_P)).status_code == 200
    dup = (await service.client.get(f"/work-orders/{second_no}/reply", headers=HOTLINE_P)).json()
    assert dup["state"] == "closed" and dup["duplicate_of"] == clue_id and "没收过期肉类" in dup["reply_text"]


async def test_a_duplicate_reopened_goes_to_the_departments_that_answered_it(service, bootstrap):
    """A duplicate linked while its first clue was with one department, then answered after the office moved that
    clue to another: an unsatisfied revisit of the duplicate reopens it to the department that handled it (it
    went to the first one, which had returned the clue; linked while unrouted, it had none and answered 500)."""
    clue_id, second = await _first_and_repeat(service, bootstrap)
    samr, mohurd = dept("samr-410300"), dept("mohurd-410300")
    async with tail(bootstrap, "dept.mohurd-410300.clues.v1") as t:
        assert (await service.post(f"/clues/{clue_id}/return", samr, {"reason": "属住建部门职责"})).status_code == 200
        assert (await service.post(f"/clues/{clue_id}/dispatch", OFFICE, {"lead": "mohurd-410300"})).status_code == 200
        for path, body in (("accept", None), ("verify", None),
                           ("handle", {"finding": "substantiated", "measures": "责令物业维修电梯"}), ("reply", {})):
            assert (await service.post(f"/clues/{clue_id}/{path}", mohurd, body)).status_code == 200
        assert (await service.post(f"/clues/{clue_id}/close", HOTLINE_P)).status_code == 200
        r = await service.post(f"/clues/{second['clue_id']}/revisit", HOTLINE_P, {"satisfied": False})
        assert r.status_code == 200, r.text
        [reopened] = await t.wait_for(of_type("clues.clue.dispatched.v1", clue_id=second["clue_id"]))
    assert reopened.envelope.data["department"] == "mohurd-410300" and reopened.envelope.data["role"] == "lead"


async def test_closing_the_first_clue_closes_the_duplicates_it_answered_not_one_replied_on_its_own(service,
                                                                                                     bootstrap):
    """A duplicate answered by its first clue was closed and reopened by an unsatisfied revisit, then handled and
    replied on its own: closing the first clue closed it too, as if answered by it, without its caller's say."""
    clue_id, second = await _first_and_repeat(service, bootstrap)
    samr, dup_id = dept("samr-410300"), second["clue_id"]
    steps = (("accept", None), ("verify", None), ("handle", {"finding": "substantiated", "measures": "责令维修"}),
             ("reply", {}))
    for path, body in steps:
        assert (await service.post(f"/clues/{clue_id}/{path}", samr, body)).status_code == 200
    assert (await service.post(f"/clues/{dup_id}/close", HOTLINE_P)).status_code == 200  # answered, then closed
    assert (await service.post(f"/clues/{dup_id}/revisit", HOTLINE_P, {"satisfied": False})).status_code == 200
    for path, body in steps:
        assert (await service.post(f"/clues/{dup_id}/{path}", samr, body)).status_code == 200
    assert (await service.post(f"/clues/{clue_id}/close", HOTLINE_P)).status_code == 200
    dup = (await service.client.get(f"/clues/{dup_id}", headers=OFFICE)).json()
    assert dup["state"] == "replied" and dup["history"][-1]["action"] == "reply", dup["history"][-1]


async def test_a_linked_duplicate_goes_with_its_first_clue_to_the_department_it_is_dispatched_to(service, bootstrap):
    """A duplicate linked while its first clue was with one department; that department returns the first clue
    and the office dispatches it to another: the duplicate is the new department's to see, no longer the first's
    (it kept the department it was linked under: the one that returned the matter listed and read it, the one
    handling it got 404)."""
    clue_id, second = await _first_and_repeat(service, bootstrap)
    samr, mohurd = dept("samr-410300"), dept("mohurd-410300")
    dup_id = second["clue_id"]

    async def seen_by(who: dict) -> tuple[int, bool]:
        """The duplicate as a department finds it: reading it, and in its list of linked clues."""
        listed = (await service.client.get("/clues", params={"state": "linked", "limit": 500}, headers=who)).json()
        read = (await service.client.get(f"/clues/{dup_id}", headers=who)).status_code
        return read, dup_id in [c["id"] for c in listed]

    first = (await service.client.get(f"/clues/{clue_id}", headers=OFFICE)).json()
    dup = (await service.client.get(f"/clues/{dup_id}", headers=OFFICE)).json()
    assert (dup["lead_department"], dup["co_departments"]) == (first["lead_department"], first["co_departments"])
    assert await seen_by(samr) == (200, True) and await seen_by(mohurd) == (404, False)
    assert (await service.post(f"/clues/{clue_id}/return", samr, {"reason": "属住建部门职责"})).status_code == 200
    r = await service.post(f"/clues/{clue_id}/dispatch", OFFICE, {"lead": "mohurd-410300", "domain": "construction"})
    assert r.status_code == 200, r.text
    assert await seen_by(mohurd) == (200, True) and await seen_by(samr) == (404, False)
    dup = (await service.client.get(f"/clues/{dup_id}", headers=mohurd)).json()
    assert (dup["state"], dup["lead_department"], dup["co_departments"], dup["domain"]) == (
        "linked", "mohurd-410300", [], "construction")
    assert dup["history"][-1]["action"] == "follow_first_clue" and dup["history"][-1]["details"]["lead"] == \
        "mohurd-410300"


async def test_a_repeat_taken_in_while_its_first_clue_is_dispatched_again_goes_with_it(service):
    """A repeat read its first clue's departments before the office's re-dispatch of that clue was committed: it
    waits for the re-dispatch, then is linked with the departments the first clue went to (it kept the ones it
    had read)."""
    first_no, second_no = unique("WO"), unique("WO")
    business = new_uscc("410303")
    await service.work_order(first_no, "洛阳市西工区某小区电梯经常困人，物业不管。", uscc=business,
                             address="河南省洛阳市西工区中州路12号")
    first = await wait_until(lambda: service.clue("hotline", first_no), what="the first clue")
    samr = dept("samr-410300")
    assert (await service.post(f"/clues/{first['id']}/return", samr, {"reason": "属住建部门职责"})).status_code == 200

    office = Principal(subject="office@office-410300", roles=[Role.OFFICE], department="office-410300")
    async with service.deps.db.transaction() as s:
        await dispatch.dispatch(service.deps, SessionTx(s, "/test", f"dispatch {first_no}"), first["id"], office,
                                lead="mohurd-410300", co=[], domain=None, note=None, arbitrate=False)
        await service.work_order(second_no, "洛阳市西工区某小区的电梯经常困人，物业不管。", uscc=business)
        taken_in = asyncio.ensure_future(wait_until(lambda: service.clue("hotline", second_no), timeout=60,
                                                    what="the repeat taken in"))
        await until_waiting_or_done(service.deps.db, taken_in, what="the repeat's intake")
    second = await taken_in
    assert second["duplicate_of"] == first["id"] and second["lead_department"] == "mohurd-410300", second


async def test_a_duplicate_answered_by_an_arbitrated_clue_is_reopened_arbitrated(service, bootstrap):
    """The office arbitrated the first clue to a department after a return; the duplicate it answered, reopened
    by an unsatisfied revisit, goes to that department as arbitrated too: it cannot return the matter again."""
    clue_id, second = await _first_and_repeat(service, bootstrap)
    samr, mohurd = dept("samr-410300"), dept("mohurd-410300")
    assert (await service.post(f"/clues/{clue_id}/return", samr, {"reason": "属住建部门职责"})).status_code == 200
    r = await service.post(f"/clues/{clue_id}/dispatch", OFFICE, {"lead": "mohurd-410300", "arbitrate": True})
    assert r.status_code == 200, r.text
    for path, body in (("accept", None), ("verify", None),
                       ("handle", {"finding": "substantiated", "measures": "责令物业维修电梯"}), ("reply", {})):
        assert (await service.post(f"/clues/{clue_id}/{path}", mohurd, body)).status_code == 200
    assert (await service.post(f"/clues/{clue_id}/close", HOTLINE_P)).status_code == 200
    r = await service.post(f"/clues/{second['clue_id']}/revisit", HOTLINE_P, {"satisfied": False})
    assert r.status_code == 200 and r.json()["lead_department"] == "mohurd-410300", r.text
    assert r.json()["arbitrated"] is True
    r = await service.post(f"/clues/{second['clue_id']}/return", mohurd, {"reason": "again"})
    assert r.status_code == 409 and "arbitrated" in r.json()["detail"], r.text


async def test_a_repeat_arriving_while_its_first_clue_is_answered_is_not_left_unanswered(service):
    """The reply to a first clue answers the repeats linked to it. A repeat taken in while that reply is being
    written must not be linked to the clue the reply closes (nothing would ever answer it): it waits for the
    reply, then is taken in on its own."""
    first_no, second_no = unique("WO"), unique("WO")
    business = new_uscc("410104")
    await service.work_order(first_no, "郑州市金水区花园路小吃店使用地沟油，食品安全堪忧。", uscc=business)
    first = await wait_until(lambda: service.clue("hotline", first_no), what="the first clue")
    samr = dept("samr-410100")
    for path, body in (("accept", None), ("verify", None), ("handle", {"finding": "substantiated", "measures": "责令整改"})):
        assert (await service.post(f"/clues/{first['id']}/{path}", samr, body)).status_code == 200

    officer = Principal(subject="officer@samr-410100", roles=[Role.DEPARTMENT], department="samr-410100")
    async with service.deps.db.transaction() as s:
        await replies.reply(service.deps, SessionTx(s, "/test", f"reply {first_no}"), first["id"], officer, text=None)
        await service.work_order(second_no, "金水区花园路小吃店用地沟油炸食品，食品安全有问题。", uscc=business)
        taken_in = asyncio.ensure_future(wait_until(lambda: service.clue("hotline", second_no), timeout=60,
                                                    what="the repeat taken in"))
        await until_waiting_or_done(service.deps.db, taken_in, what="the repeat's intake")
    second = await taken_in
    assert second["duplicate_of"] is None and second["state"] == "dispatched", second
    assert (await service.clue("hotline", first_no))["state"] == "replied"


async def test_a_repeat_of_a_recent_clue_is_found_among_many_open_ones_about_the_business(service, bootstrap):
    """A business with more open clues than a new one is compared with: the latest are compared (a repeat of the
    newest went unnoticed when the earliest fifty were)."""
    business, picked = new_uscc("410105"), random.Random(7)
    # 51 clues about the one business, nothing alike (random characters), the last received most recently
    texts = ["".join(chr(picked.randint(0x4E00, 0x9FA5)) for _ in range(16)) for _ in range(51)]
    nos = [unique("WO") for _ in texts]
    start = clock.now() - timedelta(days=10)
    async with tail(bootstrap, HOTLINE_REPLIES) as t:
        for k, (no, content) in enumerate(zip(nos, texts)):
            await service.work_order(no, content, uscc=business, received_at=start + timedelta(hours=k))
        accepted = await t.wait_for(lambda m: of_type("clues.submission.accepted.v1")(m) and m.key in nos,
                                    count=len(nos), timeout=60)
        assert all(m.envelope.data["duplicate_of"] is None for m in accepted)  # none a repeat of another
        newest = next(m.envelope.data["clue_id"] for m in accepted if m.key == nos[-1])
        repeat = unique("WO")
        await service.work_order(repeat, texts[-1][:15] + "。", uscc=business)
        [again] = await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=repeat))
    assert again.envelope.data["state"] == "linked" and again.envelope.data["duplicate_of"] == newest
