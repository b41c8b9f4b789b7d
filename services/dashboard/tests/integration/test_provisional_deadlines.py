"""The dashboard against real Kafka and PostgreSQL: a deadline counted through a year whose holiday schedule is
not published yet shows 暂定 beside its date on the pages; when the registry, the clues, the inspection or the
risk service recomputes it (registry.notification.due-changed.v1, clues.clue.deadline-changed.v1,
inspection.publication.due-changed.v1, risk.alert.respond-by-changed.v1) the page shows the new date, final,
and keeps the earlier one in sight when it had already passed; a visit published late is shown published; the
lead of a joint task sees, and is counted for, the publication of every visit of its task."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jsp_common import clock, topics
from jsp_common.db import Database
from jsp_common.envelope import new_envelope
from jsp_common.events.clues import ClueDeadlineChanged, ClueTransitioned
from jsp_common.events.inspection import (AssignedTarget, InspectionResultPublished, ItemResult,
                                          PublicationDueChanged, ResultRecorded, TaskAssigned)
from jsp_common.events.registry import NotificationDueChanged, NotificationIssued, NotificationReminded
from jsp_common.events.risk import RiskAlertAcknowledged, RiskAlertRaised, RiskAlertRespondByChanged
from jsp_testkit.samples import new_uscc
from jsp_common.topics import dead_letter_topic
from jsp_testkit.testing import OFFICE, dept, tail, unique

from dashboard.adapters import reads_panels as panels
from dashboard.domain.formats import moment

from .conftest import page_showing, send

SAMR, NHC = "samr-410100", "nhc-410100"
PROVISIONAL = '<span class="provisional"'


TEST_GROUP = "dashboard.read-model-test"  # the group of conftest.py's dashboard


async def test_a_provisional_acknowledge_by_time_is_marked_then_replaced_by_the_recomputed_one(dashboard, raw_producer):
    uscc, nid, now = new_uscc(), unique("N"), clock.now()
    due, later = now + timedelta(days=30), now + timedelta(days=31)
    name = f"郑州{uscc[-6:]}餐饮有限公司"
    topic = topics.department_topic(topics.NOTIFICATIONS, SAMR)
    issued = NotificationIssued(
        notification_id=nid, department=SAMR, kind="new_responsibility", cause="registered", entity={
            "uscc": uscc, "name": name, "entity_type": "有限责任公司", "address": "河南省郑州市金水区花园路8号",
            "division_code": "410105", "industry_code": "6210", "status": "active",
            "established_on": date(2024, 3, 1).isoformat()},
        issued_at=now, acknowledge_by=due, acknowledge_by_provisional=True)
    await send(raw_producer, topic, issued, uscc)
    html = await page_showing(dashboard, f"/ui/notifications/{nid}", moment(due))
    assert PROVISIONAL in html and "暂定" in html
    assert "新增监管 / 新设立登记" in html  # its kind and cause as the office reads them (the cause was its code)
    listed = await page_showing(dashboard, f"/ui/notifications?status=all&q={uscc}", name)
    assert PROVISIONAL in listed

    changed = NotificationDueChanged(
        notification_id=nid, department=SAMR, uscc=uscc, issued_at=now, previous_acknowledge_by=due,
        acknowledge_by=later, acknowledge_by_provisional=False, previous_passed=False,
        reason="holiday schedule published: 2027 (revision 1)", changed_at=now)
    await send(raw_producer, topic, changed, uscc)
    html = await page_showing(dashboard, f"/ui/notifications/{nid}", moment(later))
    assert PROVISIONAL not in html and moment(due) not in html  # not passed: the earlier time is simply replaced

    # the notice as issued and an earlier recomputation applied again (dead letters re-driven), then a reminder:
    # the recomputed time stands
    await send(raw_producer, topic, issued, uscc)
    await send(raw_producer, topic, changed.model_copy(update={
        "acknowledge_by": due + timedelta(hours=1), "changed_at": now - timedelta(days=1)}), uscc)
    await send(raw_producer, topic, NotificationReminded(
        notification_id=nid, department=SAMR, uscc=uscc, issued_at=now, acknowledge_by=later,
        reminded_at=clock.now(), reminder_count=1), uscc)
    html = await page_showing(dashboard, f"/ui/notifications/{nid}", "<dt>提醒次数</dt><dd>1（")
    assert moment(later) in html and PROVISIONAL not in html


async def test_a_provisional_clue_deadline_is_marked_then_moved_and_a_passed_one_stays_in_sight(dashboard, raw_producer):
    clue_id, now = unique("CL"), clock.now()
    passed, moved = now - timedelta(days=1), now + timedelta(days=2)
    await send(raw_producer, topics.CLUE_LIFECYCLE, ClueTransitioned(
        clue_id=clue_id, channel="hotline", channel_ref=unique("WO"), action="dispatch", from_state="received",
        to_state="dispatched", actor="office-duty", at=now - timedelta(days=20), division_code="410105",
        lead_department=SAMR, deadline=passed, deadline_provisional=True), clue_id)
    html = await page_showing(dashboard, f"/ui/clues/{clue_id}", moment(passed))
    assert PROVISIONAL in html

    # Told to the lead department on its own topic; the lifecycle topic carries the same change separately.
    await send(raw_producer, topics.department_topic(topics.DEPARTMENT_CLUES, SAMR), ClueDeadlineChanged(
        clue_id=clue_id, department=SAMR, role="lead", deadline=moved, deadline_provisional=False,
        previous_deadline=passed, previous_passed=True, state="dispatched",
        reason="holiday schedule published: 2027 (revision 1)"), clue_id)
    html = await page_showing(dashboard, f"/ui/clues/{clue_id}", moment(moved))
    assert PROVISIONAL not in html
    assert f"原期限 {moment(passed)}" in html  # it had passed: both dates are shown


@pytest.mark.parametrize("moved_by, details", [
    ("recompute_deadline", {"provisional": False, "reason": "holiday schedule published"}),
    ("approve_extension", {"extension_id": "EXT-1", "workdays": 3, "note": None})])
async def test_a_passed_deadline_a_recount_or_extension_replaced_stays_in_sight_from_the_lifecycle_alone(
        dashboard, raw_producer, moved_by, details):
    """A rebuild reads the department topics faster than the lifecycle: the deadline-changed event found no clue
    row to keep the earlier deadline on, and the recount's or the extension's transition did not keep it (lost)."""
    clue_id, now = unique("CL"), clock.now()
    passed, moved = now - timedelta(days=1), now + timedelta(days=2)
    replaced = {"previous_deadline": passed.isoformat(), "previous_passed": True}
    key = "deadline" if moved_by == "recompute_deadline" else "new_deadline"
    for action, from_state, at, deadline, details in (
            ("dispatch", "received", now - timedelta(days=20), passed, {}),
            (moved_by, "dispatched", now, moved, {**details, key: moved.isoformat(), **replaced})):
        await send(raw_producer, topics.CLUE_LIFECYCLE, ClueTransitioned(
            clue_id=clue_id, channel="hotline", channel_ref=unique("WO"), action=action, from_state=from_state,
            to_state="dispatched", actor="clues.workday-schedule", at=at, division_code="410105",
            lead_department=SAMR, deadline=deadline, details=details), clue_id)
    html = await page_showing(dashboard, f"/ui/clues/{clue_id}", moment(moved))
    assert f"原期限 {moment(passed)}" in html
    # The list's tabs leave a state chosen under 全部 behind (在办 with state=closed was always empty).
    listed = (await dashboard.get("/ui/clues?status=all&state=closed", headers=OFFICE)).text
    tabs = listed[listed.index('<p class="tabs">'):]
    assert "state=" not in tabs[:tabs.index("</p>")]


async def test_a_provisional_alert_response_deadline_is_marked_then_moved_and_a_passed_one_stays_in_sight(
        dashboard, raw_producer):
    """The alert's response deadline showed without 暂定, and its recomputation was passed over."""
    alert_id, uscc, now = unique("RA"), new_uscc("410105"), clock.now()
    passed, moved = now - timedelta(hours=2), now + timedelta(days=2)
    base = {"alert_id": alert_id, "uscc": uscc, "level": "blue", "departments": [SAMR]}
    raised = RiskAlertRaised(
        **base, entity_name=f"郑州{uscc[-6:]}餐饮有限公司", score=30, model_version=1, respond_by=passed,
        respond_by_provisional=True, raised_at=now - timedelta(days=3))
    await send(raw_producer, topics.RISK_ALERTS, raised, uscc)
    html = await page_showing(dashboard, f"/ui/alerts?status=all&q={alert_id}", moment(passed))
    assert PROVISIONAL in html
    await send(raw_producer, topics.RISK_ALERTS, RiskAlertRespondByChanged(
        **base, previous_respond_by=passed, respond_by=moved, respond_by_provisional=False, previous_passed=True,
        state="open", reason="holiday schedule published: 2027 (revision 1)", at=now), uscc)
    html = await page_showing(dashboard, f"/ui/alerts?status=all&q={alert_id}", moment(moved))
    assert PROVISIONAL not in html and f"原期限 {moment(passed)}" in html

    # the alert as raised applied again (a dead letter re-driven), then an acknowledgement: the recomputed
    # deadline stands
    await send(raw_producer, topics.RISK_ALERTS, raised, uscc)
    await send(raw_producer, topics.RISK_ALERTS, RiskAlertAcknowledged(**base, department=SAMR, by="officer",
                                                                        at=clock.now()), uscc)
    html = await page_showing(dashboard, f"/ui/alerts?status=all&q={alert_id}", "已签收")
    assert moment(moved) in html and PROVISIONAL not in html


def visit_assigned(task_id: str, uscc: str, department: str, item: str) -> TaskAssigned:
    """Samr's joint task (within its period) assigning ``department`` a visit to ``uscc`` for ``item``."""
    today = clock.today()
    return TaskAssigned(
        task_id=task_id, draw_id=unique("DR"), matter_code="HN-SP-001", matter_version=1, lead_department=SAMR,
        department=department, period_start=today - timedelta(days=60), period_end=today + timedelta(days=30),
        targets=[AssignedTarget(uscc=uscc, entity_name=f"郑州{uscc[-6:]}餐饮有限公司", items=[item],
                                joint_departments=[department], inspectors=["IN-1", "IN-2"], team=["IN-1", "IN-2"])],
        assigned_at=clock.now())


def results_recorded(task_id: str, uscc: str, department: str, item: str, inspected: date, due: date, *,
                     provisional: bool = False) -> ResultRecorded:
    """``department``'s results of that visit, complete, no problem found, to be published by ``due``."""
    return ResultRecorded(
        task_id=task_id, uscc=uscc, entity_name=f"郑州{uscc[-6:]}餐饮有限公司", matter_code="HN-SP-001",
        lead_department=SAMR, department=department, departments=[department], inspected_on=inspected,
        items=[ItemResult(item_code=item, department=department, outcome="no_problem")], complete=True, due_on=due,
        due_provisional=provisional, recorded_at=clock.now())


async def test_recorded_results_await_publication_until_their_deadline_then_show_as_overdue(dashboard, raw_producer):
    """A visit with results recorded awaits publication (结果待公示) until its deadline, provisional here; when the
    schedule moves the deadline to yesterday, the visit is past its publication deadline (逾期未公示)."""
    task_id, uscc, today = unique("JT"), new_uscc("410105"), clock.today()
    topic = topics.department_topic(topics.DEPARTMENT_INSPECTIONS, SAMR)
    inspected = today - timedelta(days=20)
    await send(raw_producer, topic, visit_assigned(task_id, uscc, SAMR, "SP-01"), task_id)
    row = f'data-target="{task_id}/{uscc}"'
    await page_showing(dashboard, f"/ui/targets?status=planned&q={task_id}", row)
    due = today + timedelta(days=3)
    await send(raw_producer, topic, results_recorded(task_id, uscc, SAMR, "SP-01", inspected, due, provisional=True),
               task_id)
    html = await page_showing(dashboard, f"/ui/targets?status=awaiting&q={task_id}", row)
    assert moment(due) in html and PROVISIONAL in html
    assert row not in (await dashboard.get(f"/ui/targets?status=planned&q={task_id}", headers=OFFICE)).text

    await send(raw_producer, topic, PublicationDueChanged(
        task_id=task_id, uscc=uscc, department=SAMR, inspected_on=inspected, previous_due_on=due,
        due_on=today - timedelta(days=1), due_provisional=False, previous_passed=False,
        reason="holiday schedule published", changed_at=clock.now()), task_id)
    html = await page_showing(dashboard, f"/ui/targets?status=publication_overdue&q={task_id}", row)
    assert PROVISIONAL not in html and "逾期 1 天" in html
    assert row not in (await dashboard.get(f"/ui/targets?status=awaiting&q={task_id}", headers=OFFICE)).text

    # published late: the list of every visit shows it published, no longer overdue
    await send(raw_producer, topics.INSPECTION_RESULTS, InspectionResultPublished(
        uscc=uscc, entity_name=f"郑州{uscc[-6:]}餐饮有限公司", task_id=task_id, matter_code="HN-SP-001",
        lead_department=SAMR, departments=[SAMR], inspected_on=inspected,
        items=[ItemResult(item_code="SP-01", department=SAMR, outcome="no_problem")], problems_found=False,
        published_at=clock.now()), uscc)
    html = await page_showing(dashboard, f"/ui/targets?status=all&q={task_id}", "已公示")
    assert row in html and "逾期" not in html.split(row, 1)[1].split("</tr>", 1)[0]


async def test_the_lead_of_a_joint_task_sees_the_visits_it_does_not_inspect_and_is_counted_for_their_publication(
        dashboard, dashboard_settings, raw_producer):
    """The lead publishes every visit's results, also where only another department inspects: it saw none of
    them, and their overdue publication was counted on the inspecting department's row, which cannot publish."""
    task_id, uscc, today = unique("JT"), new_uscc("410105"), clock.today()
    topic = topics.department_topic(topics.DEPARTMENT_INSPECTIONS, NHC)
    row = f'data-target="{task_id}/{uscc}"'
    db = Database(dashboard_settings.database_url)

    async def overdue_by_department() -> dict[str, int]:
        async with db.transaction() as session:
            figures = await panels.target_figures(session, None, "department", today)
        return {d: figures.get(d, {}).get("inspections_publication_overdue", 0) for d in (SAMR, NHC)}

    try:
        await send(raw_producer, topic, visit_assigned(task_id, uscc, NHC, "WS-01"), task_id)
        await page_showing(dashboard, f"/ui/targets?status=planned&q={task_id}", row)
        before = await overdue_by_department()
        await send(raw_producer, topic, results_recorded(task_id, uscc, NHC, "WS-01", today - timedelta(days=40),
                                                         today - timedelta(days=2)), task_id)
        await page_showing(dashboard, f"/ui/targets?status=publication_overdue&q={task_id}", row)
        for viewer in (SAMR, NHC):
            html = (await dashboard.get(f"/ui/targets?status=publication_overdue&q={task_id}",
                                        headers=dept(viewer))).text
            assert row in html, viewer
        after = await overdue_by_department()
        assert {d: after[d] - before[d] for d in (SAMR, NHC)} == {SAMR: 1, NHC: 1}
    finally:
        await db.dispose()


async def test_a_poison_message_on_a_department_topic_is_dead_lettered_and_the_pages_go_on(dashboard, raw_producer,
                                                                                          bootstrap):
    """The dashboard reads every department's topics: what it cannot take from one goes, with the reason, to the
    dead-letter topic shared by all departments' topics of that kind, and what follows is still shown."""
    dept_topic = topics.department_topic(topics.DEPARTMENT_CLUES, SAMR)
    dlq = dead_letter_topic(dept_topic, TEST_GROUP)
    assert dlq == f"dept.all.clues.v1.dlq.{TEST_GROUP}"
    clue_id, now = unique("CL"), clock.now()
    await send(raw_producer, topics.CLUE_LIFECYCLE, ClueTransitioned(
        clue_id=clue_id, channel="hotline", channel_ref=unique("WO"), action="dispatch", from_state="received",
        to_state="dispatched", actor="office-duty", at=now, division_code="410105", lead_department=SAMR,
        deadline=now + timedelta(days=5), deadline_provisional=True), clue_id)
    await page_showing(dashboard, f"/ui/clues/{clue_id}", moment(now + timedelta(days=5)))
    async with tail(bootstrap, dlq) as dead:
        poison = new_envelope(type="hotline.work-order.submitted.v1", source="/test", data={"work_order_no": "x"})
        await raw_producer.send_and_wait(dept_topic, poison.to_bytes(), key=clue_id.encode())
        moved = now + timedelta(days=9)
        await send(raw_producer, dept_topic, ClueDeadlineChanged(
            clue_id=clue_id, department=SAMR, role="lead", deadline=moved, deadline_provisional=False,
            previous_deadline=now + timedelta(days=5), previous_passed=False, state="dispatched",
            reason="holiday schedule published"), clue_id)
        await page_showing(dashboard, f"/ui/clues/{clue_id}", moment(moved))
        [letter] = await dead.wait_for(lambda m: m.value == poison.to_bytes(), what="the dead letter")
    assert letter.headers["dlq.original.topic"] == dept_topic.encode()
    assert b"is not carried on" in letter.headers["dlq.reason"]
