"""A clue the risk service raised itself (channel ``risk``) comes back on the clues' lifecycle: taken in, it is not
counted again (its fact was counted already: the device window, the score); found true by a department, it is a new
fact and counts. So for the inspection service's clues (their items found failing are counted when published)."""

from __future__ import annotations

import pytest

from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import unique, wait_until

SAMR = "samr-410100"


@pytest.mark.parametrize("channel", ["risk", "inspection"])
async def test_a_clue_raised_from_a_counted_fact_is_not_counted_as_received_but_counts_when_found_true(service,
                                                                                                       channel):
    uscc = new_uscc()
    await service.entity(uscc, [SAMR])
    await service.clue_handled(uscc, unique("CL"), SAMR, channel=channel)  # taken in, then found true: one partition

    async def substantiated():
        s = await service.standing(uscc)
        return s if s and s["counts"].get("clues_substantiated") else None
    standing = await wait_until(substantiated, what="the substantiated clue counted")
    assert "clues_received" not in standing["counts"] and standing["score"] == 15
    points = {c["indicator"]: c["points"] for c in standing["contributions"] if c["points"]}
    assert points == {"clues_substantiated": 15}

    # a hotline clue about the same business is counted when taken in, as before
    await service.clue_handled(uscc, unique("CL"), SAMR)

    async def both():
        s = await service.standing(uscc)
        return s if s["counts"].get("clues_substantiated") == 2 else None
    standing = await wait_until(both, what="the hotline clue counted")
    assert (standing["counts"]["clues_received"], standing["score"]) == (1, 32)
