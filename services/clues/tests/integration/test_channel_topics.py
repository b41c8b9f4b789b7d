"""Each outside channel sends its clues on its own topic, which only it may write: a clue taken from there is
that channel's, and a message on one channel's topic naming another channel is refused (dead-letter topic with the
reason, a receipt to the channel that sent it, no clue), so no channel can take another's reference or be answered
in its place."""

from __future__ import annotations

import json

from jsp_common import clock, topics
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import of_type, tail, unique

from .conftest import SUBMISSIONS, topics_keyed

WEBSITE, MEDIA = topics.CHANNEL_SUBMISSIONS["website"], topics.CHANNEL_SUBMISSIONS["media"]
WEBSITE_REPLIES, MEDIA_REPLIES = topics.CHANNEL_REPLIES["website"], topics.CHANNEL_REPLIES["media"]
MEDIA_DLQ, SUBMISSIONS_DLQ = (topics.dead_letter_topic(t, "clues.intake") for t in (MEDIA, SUBMISSIONS))


def clue_data(channel: str, ref: str, content: str) -> dict:
    return {"channel": channel, "channel_ref": ref, "content": content, "uscc": new_uscc("410102"),
            "address": "河南省郑州市中原区建设西路100号", "received_at": clock.now().isoformat()}


async def test_a_clue_is_its_topics_channels_and_one_naming_another_channel_is_refused(service, bootstrap):
    ref, ours = unique("web"), unique("risk")
    forged = clue_data("website", ref, "记者反映郑州市中原区某餐厅后厨卫生极差，食品发霉。")
    async with tail(bootstrap, WEBSITE_REPLIES, MEDIA_REPLIES, MEDIA_DLQ, SUBMISSIONS_DLQ) as t:
        # the media, on their own topic, name the website and a reference the website will use
        await service.send(MEDIA, "clues.clue.submitted.v1", forged, ref)
        # a clue naming an outside channel on the platform's own services' topic (no outside channel may write it
        # since each has its own: one the website sent there before, still unread at the cut-over)
        await service.send(SUBMISSIONS, "clues.clue.submitted.v1",
                           clue_data("website", ours, "群众反映郑州市中原区某超市销售过期食品。"), ours)

        [dead] = await t.wait_for(lambda m: m.topic == MEDIA_DLQ and m.key == ref, what="the forged clue refused")
        reason = dead.headers["dlq.reason"].decode()
        assert MEDIA in reason and "'website'" in reason, reason
        assert json.loads(dead.value)["data"] == forged  # kept as it came
        # the media are told, on their own topic; the website hears nothing of it
        [refused] = await t.wait_for(of_type("clues.submission.rejected.v1", channel_ref=ref))
        assert refused.topic == MEDIA_REPLIES and refused.envelope.data["channel"] == "media"
        assert refused.envelope.data["errors"] == [{"field": "channel", "reason": reason}]
        [dead_ours] = await t.wait_for(lambda m: m.topic == SUBMISSIONS_DLQ and m.key == ours)
        assert "'website'" in dead_ours.headers["dlq.reason"].decode()
        # the website is told, on its own topic, to send it on its own submissions topic
        [told] = await t.wait_for(of_type("clues.submission.rejected.v1", channel_ref=ours))
        assert told.topic == WEBSITE_REPLIES and "each channel sends on its own topic" in told.envelope.data["reason"]

        # the website's own clue under that reference, on its topic, is a new clue of the website's
        await service.send(WEBSITE, "clues.clue.submitted.v1",
                           clue_data("website", ref, "群众反映郑州市中原区某餐厅后厨卫生极差，食品发霉。"), ref)
        [accepted] = await t.wait_for(of_type("clues.submission.accepted.v1", channel_ref=ref))
        assert accepted.topic == WEBSITE_REPLIES
        assert (accepted.envelope.data["channel"], accepted.envelope.data["resent"]) == ("website", False)
    clue = await service.clue("website", ref)
    assert clue is not None and clue["id"] == accepted.envelope.data["clue_id"]
    assert clue["content"].startswith("群众反映") and await service.clue("media", ref) is None
    assert await topics_keyed(service, ref) == {MEDIA_REPLIES, WEBSITE_REPLIES}
    assert await service.clue("website", ours) is None and await topics_keyed(service, ours) == {WEBSITE_REPLIES}
