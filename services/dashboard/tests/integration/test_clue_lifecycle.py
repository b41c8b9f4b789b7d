"""The clue lifecycle on the dashboard, against real Kafka and PostgreSQL: transitions of several clues that arrive
together (one poll, interleaved) give each clue its own timeline in order, its state after the last one, and its
returns and re-dispatches counted once; a transition delivered again changes nothing; clues with no lead department
yet have a row of their own in the department table."""

from __future__ import annotations

import re
from datetime import timedelta

from jsp_common import clock, topics
from jsp_common.envelope import new_envelope
from jsp_common.events.clues import ClueChased, ClueEscalated, ClueTransitioned
from jsp_testkit.testing import OFFICE, unique, wait_until

SAMR = "samr-410100"
STEPS = [("receive", None, "received"), ("dispatch", "received", "dispatched"), ("return", "dispatched", "returned"),
         ("dispatch", "returned", "dispatched"), ("accept", "dispatched", "accepted")]


def transitions(clue_id: str, first_at) -> list[bytes]:
    return [new_envelope(type=ClueTransitioned.event_type, source="/test", data=ClueTransitioned(
        clue_id=clue_id, channel="hotline", channel_ref=f"WO-{clue_id}", action=action, from_state=before,
        to_state=after, actor="office-duty", at=first_at + timedelta(minutes=i), division_code="410105",
        lead_department=SAMR).model_dump(mode="json")).to_bytes()
        for i, (action, before, after) in enumerate(STEPS)]


async def test_interleaved_transitions_of_several_clues_give_each_its_timeline_state_and_counts(dashboard,
                                                                                               raw_producer):
    now = clock.now()
    clues: dict[str, list[bytes]] = {}
    for _ in range(3):
        clue_id = unique("CL")
        clues[clue_id] = transitions(clue_id, now)
    sent = []
    for i in range(len(STEPS)):  # step i of every clue, then step i + 1: one poll holds them interleaved
        for clue_id, envs in clues.items():
            sent.append(await raw_producer.send(topics.CLUE_LIFECYCLE, envs[i], key=clue_id.encode()))
    first = next(iter(clues))
    sent.append(await raw_producer.send(topics.CLUE_LIFECYCLE, clues[first][2], key=first.encode()))  # again
    for delivery in sent:
        await delivery

    for clue_id in clues:
        async def accepted():
            html = (await dashboard.get(f"/ui/clues/{clue_id}", headers=OFFICE)).text
            return html if "已受理" in html.split("</h1>")[0] else None
        html = await wait_until(accepted, timeout=60, what=f"clue {clue_id} accepted on its page")
        assert re.search(r"<dt>退回 / 再分派</dt><dd>1 / 1</dd>", html)
        timeline = re.findall(r"<b>([^<]+)</b>", html.split('<ol class="timeline">')[1].split("</ol>")[0])
        assert timeline == ["接收", "分派", "退回", "分派", "受理"]


async def test_clues_waiting_for_a_lead_department_have_their_own_row_without_links(dashboard, raw_producer):
    """A clue the office has still to dispatch has no lead department: its row was named — and every figure of it
    linked to department=None, an empty list."""
    clue_id = unique("CL")
    await raw_producer.send(topics.CLUE_LIFECYCLE, new_envelope(
        type=ClueTransitioned.event_type, source="/test", data=ClueTransitioned(
            clue_id=clue_id, channel="hotline", channel_ref=f"WO-{clue_id}", action="queue", from_state="received",
            to_state="pending_dispatch", actor="clues.intake", at=clock.now(),
            division_code="410105").model_dump(mode="json")).to_bytes(), key=clue_id.encode())

    async def page() -> str | None:
        html = (await dashboard.get("/ui/", headers=OFFICE)).text
        return html if 'data-department="none"' in html else None
    html = await wait_until(page, timeout=60, what="the row of the clues without a lead department")
    assert "department=None" not in html and "尚无主办部门" in html


async def test_a_clue_s_page_tells_by_how_many_working_days_it_was_overdue_when_chased(dashboard, raw_producer):
    """A chaser is sent only once the deadline has passed (``workdays_left`` -1 on the working day after it): the
    page said "剩余-1个工作日" (minus one left) where it is one working day overdue. The city office's copy of an
    escalation is its supervision: it was labelled co-handling (协办)."""
    clue_id, now = unique("CL"), clock.now()
    for envelope in transitions(clue_id, now - timedelta(days=10))[:2]:
        await raw_producer.send(topics.CLUE_LIFECYCLE, envelope, key=clue_id.encode())
    office = "office-410100"  # the city office's copy of the escalation
    for kind, dept, role, data in ((ClueChased, SAMR, "lead", {"workdays_left": -1}),
                                   (ClueEscalated, SAMR, "lead", {"overdue_workdays": 6}),
                                   (ClueEscalated, office, "office", {"overdue_workdays": 6})):
        await raw_producer.send(topics.department_topic(topics.DEPARTMENT_CLUES, dept), new_envelope(
            type=kind.event_type, source="/test", data=kind(
                clue_id=clue_id, department=dept, role=role, deadline=now - timedelta(days=9), state="dispatched",
                **data).model_dump(mode="json")).to_bytes(), key=clue_id.encode())

    async def alerted() -> str | None:
        html = (await dashboard.get(f"/ui/clues/{clue_id}", headers=OFFICE)).text
        alerts = html.split("<h2>催办与督办</h2>")[1].split("</ul>")[0] if "<h2>催办与督办</h2>" in html else ""
        return alerts if alerts.count("<li><time>") == 3 else None
    alerts = await wait_until(alerted, timeout=60, what=f"clue {clue_id}'s chaser and escalations on its page")
    assert "超期1个工作日" in alerts and "超期6个工作日" in alerts and "剩余" not in alerts
    # the office's copy is its supervision (督办), not a co-handling (协办) it was never sent
    assert "（督办，超期6个工作日）" in alerts and "协办" not in alerts
