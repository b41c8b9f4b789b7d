"""Bad input on the intake topics: a clear rejection receipt, the original on the dead-letter topic,
and the next message processed."""

from __future__ import annotations

import json

from jsp_common.events.clues import MAX_CONTENT_CHARS
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import of_type, tail, unique

from .conftest import HOTLINE, HOTLINE_REPLIES, SUBMISSIONS, topics_keyed

WEBSITE, MEDIA = "clues.submissions.website.v1", "clues.submissions.media.v1"
WEBSITE_REPLIES, MEDIA_REPLIES = "clues.replies.website.v1", "clues.replies.media.v1"
HOTLINE_DLQ = "hotline.work-orders.v1.dlq.clues.intake"
SUBMISSIONS_DLQ = "clues.submissions.v1.dlq.clues.intake"
WEBSITE_DLQ = "clues.submissions.website.v1.dlq.clues.intake"


def rejected(ref: str):
    return of_type("clues.submission.rejected.v1", channel_ref=ref)


async def test_bad_messages_are_refused_with_reasons_and_kept(service, bootstrap):
    missing, bad_uscc, oversized, not_json, unknown_channel, good, good_other, bad_site = (
        unique("WO") for _ in range(8))
    async with tail(bootstrap, HOTLINE_REPLIES, WEBSITE_REPLIES, MEDIA_REPLIES, HOTLINE_DLQ, SUBMISSIONS_DLQ,
                    WEBSITE_DLQ) as t:
        await service.work_order(missing, "")
        await service.send(HOTLINE, "hotline.work-order.submitted.v1",
                           {"work_order_no": bad_uscc, "content": "某超市销售过期食品", "uscc": "91410105MA44AAAA0X",
                            "received_at": "2026-03-02T09:00:00+08:00"}, bad_uscc)
        await service.work_order(oversized, "食" * (MAX_CONTENT_CHARS + 1))
        await service.producer.send_and_wait(HOTLINE, b'{"work_order_no": "' + not_json.encode() + b'", ',
                                             key=not_json.encode())
        await service.send(SUBMISSIONS, "clues.clue.submitted.v1",
                           {"channel": "wechat", "channel_ref": unknown_channel, "content": "某药店销售假药",
                            "received_at": "2026-03-02T09:00:00+08:00"}, unknown_channel)
        await service.send(WEBSITE, "clues.clue.submitted.v1",
                           {"channel": "website", "channel_ref": bad_site, "content": "某药店销售假药",
                            "uscc": "91410105MA44AAAA0X", "received_at": "2026-03-02T09:00:00+08:00"}, bad_site)
        await service.work_order(good, "郑州市二七区某饭店后厨卫生极差，食品发霉。", address="郑州市二七区大学路1号",
                                 uscc=new_uscc("410103"))
        await service.send(MEDIA, "clues.clue.submitted.v1",
                           {"channel": "media", "channel_ref": good_other, "uscc": new_uscc("410102"),
                            "content": "记者暗访发现郑州市中原区某餐厅使用地沟油。",
                            "received_at": "2026-03-02T09:00:00+08:00"}, good_other)

        def reasons(ref: str) -> dict[str, str]:
            receipt = next(m.envelope.data for m in t.received if rejected(ref)(m))
            return {e["field"]: e["reason"] for e in receipt["errors"]}

        for ref in (missing, bad_uscc, oversized, not_json, bad_site):
            await t.wait_for(rejected(ref), what=f"rejection of {ref}")
        assert "content" in reasons(missing)
        assert "wrong check character" in reasons(bad_uscc)["uscc"]
        assert f"at most {MAX_CONTENT_CHARS} characters" in reasons(oversized)["content"]
        nj = next(m for m in t.received if rejected(not_json)(m))
        assert nj.topic == HOTLINE_REPLIES and "not JSON" in nj.envelope.data["reason"]
        # each channel is told on its own topic; a refusal on the platform's own services' topic (naming a channel
        # nobody reads by that name) has its reason on the dead-letter topic only
        site = next(m for m in t.received if rejected(bad_site)(m))
        assert site.topic == WEBSITE_REPLIES and "wrong check character" in reasons(bad_site)["uscc"]

        # Nothing lost: every original is on the dead-letter topic with the reason; the next ones went through.
        dead = await t.wait_for(lambda m: m.topic in (HOTLINE_DLQ, SUBMISSIONS_DLQ, WEBSITE_DLQ) and m.key in {
            missing, bad_uscc, oversized, not_json, unknown_channel, bad_site}, count=6)
        assert all(m.headers["dlq.reason"] for m in dead)
        assert b"'website'" in next(m for m in dead if m.key == unknown_channel).headers["dlq.details"]
        assert await topics_keyed(service, unknown_channel) == set()
        assert json.loads(next(m for m in dead if m.key == bad_uscc).value)["data"]["uscc"] == "91410105MA44AAAA0X"
        await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=good))
        ok = (await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=good_other)))[0]
        assert ok.topic == MEDIA_REPLIES and ok.envelope.data["channel"] == "media"
        assert await topics_keyed(service, good_other) == {MEDIA_REPLIES}
    assert await service.clue("hotline", missing) is None
    assert (await service.clue("hotline", good))["lead_department"] == "samr-410100"


async def test_a_work_order_number_with_nul_gets_its_rejection_receipt(service, bootstrap):
    """NUL in a work order's number: the receipt is keyed and addressed by the number with it shown as U+FFFD
    (keyed by the number as sent, it could not be written to the outbox, whose keys are PostgreSQL text: the work
    order went to the dead-letter topic and the hotline never heard of it; without it, it would be another
    number)."""
    no = unique("WO")
    sent = f"{no[:2]}\x00{no[2:]}"
    async with tail(bootstrap, HOTLINE_REPLIES, HOTLINE_DLQ) as t:
        await service.work_order(sent, "郑州市二七区某饭店后厨卫生极差，食品发霉。")
        [dead] = await t.wait_for(lambda m: m.topic == HOTLINE_DLQ and json.loads(m.value)["data"]["work_order_no"]
                                  == sent, what="the work order on the dead-letter topic")
        shown = sent.replace("\x00", "\ufffd")
        [receipt] = await t.wait_for(rejected(shown), what="the rejection receipt")
    assert receipt.topic == HOTLINE_REPLIES and receipt.key == shown
    assert "work_order_no" in {e["field"] for e in receipt.envelope.data["errors"]}
    assert dead.headers["dlq.reason"]
