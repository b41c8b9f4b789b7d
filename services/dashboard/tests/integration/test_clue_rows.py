"""A poll's clue transitions written together (a clue's successive changes taken as one where that gives the same
row) leave every clue's row, timeline and figures as the same transitions written one at a time do, on a real
PostgreSQL: in order and out of order, with values a transition does not know, returns and re-dispatches, and an
event delivered twice in the poll."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from jsp_common import clock
from jsp_common.db import Database
from jsp_common.envelope import new_envelope
from jsp_common.events.clues import ClueTransitioned
from jsp_common.migrations import upgrade
from jsp_testkit.testing import unique_database_url

from dashboard.adapters import writes
from dashboard.domain import clues as clue_rules
from dashboard.usecases.ingest import _transition

SERVICE_DIR = Path(__file__).resolve().parents[2]
STEPS = [("receive", None, "received"), ("dispatch", "received", "dispatched"), ("return", "dispatched", "returned"),
         ("redispatch", "returned", "dispatched"), ("accept", "dispatched", "accepted"),
         ("handle", "accepted", "handled")]
LEADS, DIVISIONS, DOMAINS = ("samr-410100", "nhc-410100", "mem-410300"), ("410105", "410302"), ("food", "drugs")


def _poll(rng: random.Random, clues: int) -> list[tuple]:
    """Transitions of ``clues`` clues interleaved as one poll brings them: each clue's steps in order, their times
    mostly rising (now and then one earlier than the step before it), and the values a step may not know (domain,
    place, lead department, deadline) each known or not."""
    start = clock.now()
    per_clue = []
    for n in range(clues):
        at, steps = start + timedelta(minutes=n), []
        for action, before, after in STEPS[:rng.randint(1, len(STEPS))]:
            at += timedelta(minutes=rng.choice((-3, 1, 1, 1, 2)))
            known = lambda value: value if rng.random() < 0.7 else None  # noqa: E731
            data = ClueTransitioned(
                clue_id=f"CL-{n:03d}", channel="hotline", channel_ref=f"WO-{n:03d}", action=action, from_state=before,
                to_state=after, actor="office-duty", at=at, domain=known(rng.choice(DOMAINS)),
                division_code=known(rng.choice(DIVISIONS)), lead_department=known(rng.choice(LEADS)),
                co_departments=rng.sample(LEADS, rng.randint(0, 2)),
                deadline=known(at + timedelta(days=rng.randint(1, 9))), deadline_provisional=rng.random() < 0.3)
            env = new_envelope(type=ClueTransitioned.event_type, source="/test", data=data.model_dump(mode="json"))
            steps.append(_transition(data, env))
        per_clue.append(steps)
    poll = []
    while any(per_clue):
        steps = rng.choice([s for s in per_clue if s])
        poll.append(steps.pop(0))
    return poll


READ = {
    "clues": "SELECT * FROM clues ORDER BY clue_id",
    "timelines": "SELECT event_id, clue_id, at, action, to_state FROM clue_transitions ORDER BY event_id",
    "tally": "SELECT scope, lead_department, city_code, state, week, sum(n), sum(returns), sum(redispatches) "
             "FROM clue_tally GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5",
}


async def _read(db: Database) -> dict[str, list]:
    async with db.transaction() as session:
        return {name: [tuple(r) for r in (await session.execute(text(q))).all()] for name, q in READ.items()}


async def test_a_poll_written_together_leaves_each_clue_as_writing_its_transitions_one_at_a_time_does(settings):
    poll = _poll(random.Random(20261204), clues=60)
    changes = [{**clue, "returns": int(r), "redispatches": int(d)} for clue, _, r, d in poll]
    taken = clue_rules.folded(changes)
    assert 60 < len(taken) < len(changes)  # the poll has changes taken together and changes that cannot be
    assert any(c["returns"] for c in changes) and any(c["redispatches"] for c in changes)
    times: dict[str, list] = {}
    for c in changes:
        times.setdefault(c["clue_id"], []).append(c["updated_at"])
    assert any(b < a for ts in times.values() for a, b in zip(ts, ts[1:]))  # and a clue's steps out of order

    one_at_a_time, together = (Database(unique_database_url(settings, f"dashboard_{n}")) for n in ("single", "poll"))
    try:
        for db in (one_at_a_time, together):
            await upgrade(SERVICE_DIR, db.url)
        for transition in poll:
            async with one_at_a_time.transaction() as session:
                await writes.record_transitions(session, [transition])
        async with together.transaction() as session:  # one event twice in the poll: counted once
            added = await writes.record_transitions(session, [*poll, poll[len(poll) // 2]])
        assert added == len(poll)
        async with together.transaction() as session:  # the poll delivered again changes nothing
            assert await writes.record_transitions(session, poll) == 0

        expected, got = await _read(one_at_a_time), await _read(together)
        for name in READ:
            assert got[name] == expected[name], name
    finally:
        await one_at_a_time.dispose()
        await together.dispose()
