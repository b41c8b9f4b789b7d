"""The directory's records in the read model (registry.entities.v1, taken a poll at a time): the latest version of
an entity wins whatever order its records arrive in, and the entity keeps the time of the first record seen; the
tally of entities per city, department and week is kept without writers waiting on each other."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from jsp_common import clock, topics
from jsp_common.db import Database
from jsp_common.envelope import new_envelope
from jsp_common.events.registry import AdjudicationRequested, AdjudicationWithdrawn, EntityChanged
from jsp_common.events.risk import CreditClassChanged
from jsp_common.migrations import upgrade
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, dept, unique, unique_database_url, wait_until

from dashboard.adapters import tallies
from dashboard.adapters.tables import active_entity_tally, entity_tally

SERVICE_DIR = Path(__file__).resolve().parents[2]


def record(uscc: str, version: int, name: str, changed_days_ago: int, status: str = "active") -> tuple[str, bytes]:
    now = clock.now()
    data = EntityChanged(
        uscc=uscc, name=name, entity_type="有限责任公司", address="河南省郑州市金水区农业路18号",
        division_code="410105", industry_code="6210", status=status, established_on="2020-05-01",
        responsible_departments=["samr-410100"], domains=["food"], assignment_state="assigned",
        assignment_source="rules", record_version=version, last_changed_at=now - timedelta(days=changed_days_ago),
        updated_at=now)
    env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
    return env.id, env.to_bytes()


async def taken_in(db: Database, group: str, event_ids: list[str], *, what: str) -> None:
    """Wait until the read model's group has applied every one of ``event_ids`` (its inbox holds them)."""
    async def applied() -> bool:
        async with db.transaction() as s:
            return (await s.execute(text("SELECT count(*) FROM inbox WHERE consumer_group = :g AND event_id = "
                                         "ANY(CAST(:ids AS text[]))"), {"g": group, "ids": event_ids})
                    ).scalar_one() == len(event_ids)
    await wait_until(applied, timeout=30, what=f"{what} applied")


async def test_the_latest_version_wins_and_the_first_record_seen_dates_the_entity(dashboard, dashboard_settings,
                                                                                    raw_producer):
    uscc = new_uscc()
    sent = [record(uscc, 1, "初名餐饮", 30), record(uscc, 3, "现名餐饮", 10), record(uscc, 2, "中间名餐饮", 20),
            record(uscc, 3, "现名餐饮（重发）", 5)]
    for _, value in sent:  # one after another on the entity's partition: usually one poll, maybe more
        await raw_producer.send(topics.REGISTRY_ENTITIES, value, key=uscc.encode())
    await raw_producer.flush()
    db = Database(dashboard_settings.database_url)
    try:
        await taken_in(db, dashboard_settings.read_model_group, [i for i, _ in sent], what="the four records")
        async with db.transaction() as s:
            got = (await s.execute(text("SELECT name, record_version, first_seen_at, last_changed_at "
                                        "FROM entities WHERE uscc = :u"), {"u": uscc})).mappings().one()
        assert got["record_version"] == 3
        assert got["name"] == "现名餐饮"  # a redelivered version 3 changes nothing
        assert (got["last_changed_at"] - got["first_seen_at"]).days == 20
        async with db.transaction() as s:
            tallied = (await s.execute(text("SELECT sum(n) FROM entity_tally WHERE department = ''"))).scalar_one()
            counted = (await s.execute(text("SELECT count(*) FROM entities"))).scalar_one()
        assert tallied == counted
    finally:
        await db.dispose()


def credit_class(uscc: str, version: int, cls: str) -> tuple[str, bytes]:
    data = CreditClassChanged(uscc=uscc, credit_class=cls, score=30.0, model_version=1, record_version=version,
                              reason="检查发现问题", changed_at=clock.now())
    env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
    return env.id, env.to_bytes()


async def test_the_office_lists_entities_by_credit_class_the_unrated_as_b(dashboard, dashboard_settings, raw_producer):
    rated, unrated = new_uscc(), new_uscc()
    figures = (await dashboard.get("/ui/figures.json", headers=OFFICE)).json()["totals"]
    for uscc in (rated, unrated):
        await raw_producer.send(topics.REGISTRY_ENTITIES, record(uscc, 1, "分类测试餐饮", 1)[1], key=uscc.encode())
    # the class in force is the latest record, whatever order the records arrive in
    older = None
    for version, cls in ((2, "D"), (1, "C")):
        older, value = credit_class(rated, version, cls)
        await raw_producer.send(topics.CREDIT_CLASSES, value, key=rated.encode())
    await raw_producer.flush()
    db = Database(dashboard_settings.database_url)
    try:
        await taken_in(db, dashboard_settings.read_model_group, [older], what="the older class record")
    finally:
        await db.dispose()

    async def listed(cls: str, uscc: str) -> bool:
        page = await dashboard.get("/ui/entities", params={"state": cls, "q": uscc}, headers=OFFICE)
        return f'data-entity="{uscc}"' in page.text
    assert await listed("D", rated)
    now = (await dashboard.get("/ui/figures.json", headers=OFFICE)).json()["totals"]  # the command page's cards
    assert (now["entities_class_d"], now["entities_class_c"]) == (figures["entities_class_d"] + 1,
                                                                  figures["entities_class_c"])
    await wait_until(lambda: listed("B", unrated), timeout=30, what="the unrated entity listed as class B")
    assert not await listed("B", rated) and not await listed("C", rated) and not await listed("D", unrated)
    page = await dashboard.get("/ui/entities", params={"q": rated}, headers=OFFICE)
    assert "D类" in page.text
    refused = await dashboard.get("/ui/entities", params={"state": "E"}, headers=OFFICE)
    assert refused.status_code == 400 and "one of A, B, C, D" in refused.text
    # by department, as every list: the office the entities a department supervises, a department only its own
    for department, shown in (("samr-410100", True), ("nhc-410100", False)):
        page = await dashboard.get("/ui/entities", params={"q": rated, "department": department}, headers=OFFICE)
        assert (f'data-entity="{rated}"' in page.text) is shown, department
    assert (await dashboard.get("/ui/entities", params={"department": "nhc-410100"},
                                headers=dept("samr-410100"))).status_code == 404



async def test_a_closed_business_leaves_the_figures_of_the_entities_supervised_and_stays_in_its_list(
        dashboard, dashboard_settings, raw_producer):
    """监管对象 and the C and D figures count the businesses still in operation (存续): a class D business
    deregistered is no longer supervised, and neither figure keeps it; the list of closed ones still holds it."""
    uscc = new_uscc()
    db = Database(dashboard_settings.database_url)

    async def totals() -> dict:
        return (await dashboard.get("/ui/figures.json", headers=OFFICE)).json()["totals"]

    async def listed(**params) -> bool:
        page = await dashboard.get("/ui/entities", params={"q": uscc, **params}, headers=OFFICE)
        assert page.status_code == 200, page.text
        return f'data-entity="{uscc}"' in page.text

    try:
        before = await totals()
        sent = [record(uscc, 1, "注销测试餐饮", 30), credit_class(uscc, 1, "D")]
        await raw_producer.send(topics.REGISTRY_ENTITIES, sent[0][1], key=uscc.encode())
        await raw_producer.send(topics.CREDIT_CLASSES, sent[1][1], key=uscc.encode())
        await raw_producer.flush()
        await taken_in(db, dashboard_settings.read_model_group, [i for i, _ in sent], what="the business and its class")
        active = await totals()
        assert (active["entities"], active["entities_class_d"]) == (before["entities"] + 1,
                                                                    before["entities_class_d"] + 1)
        assert await listed() and await listed(state="D")

        closed = record(uscc, 2, "注销测试餐饮", 1, status="deregistered")
        await raw_producer.send(topics.REGISTRY_ENTITIES, closed[1], key=uscc.encode())
        await raw_producer.flush()
        await taken_in(db, dashboard_settings.read_model_group, [closed[0]], what="the deregistration")
        after = await totals()
        assert (after["entities"], after["entities_class_d"]) == (before["entities"], before["entities_class_d"])
        assert not await listed() and not await listed(state="D")   # the lists behind the figures agree
        assert await listed(status="closed") and await listed(status="closed", state="D") and await listed(status="all")
        assert not await listed(status="active")
        refused = await dashboard.get("/ui/entities", params={"status": "gone"}, headers=OFFICE)
        assert refused.status_code == 400
    finally:
        await db.dispose()

# The entities per city, department ('' every one) and week first seen, counted from the entities themselves.
COUNTED = text("""
SELECT coalesce(city_code, '') AS city, d AS department,
       date_trunc('week', first_seen_at AT TIME ZONE 'Asia/Shanghai')::date AS week, count(*) AS n
FROM entities, unnest(array_append(departments, '')) AS d GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")
TALLIED = text("SELECT city_code, department, week, sum(n) FROM entity_tally GROUP BY 1, 2, 3 HAVING sum(n) <> 0 "
               "ORDER BY 1, 2, 3")
# The entities in operation per city and department, likewise.
ACTIVE_COUNTED = text("""
SELECT coalesce(city_code, '') AS city, d AS department, count(*) AS n
FROM entities, unnest(array_append(departments, '')) AS d WHERE status = 'active' GROUP BY 1, 2 ORDER BY 1, 2""")
ACTIVE_TALLIED = text("SELECT city_code, department, sum(n) FROM active_entity_tally GROUP BY 1, 2 "
                      "HAVING sum(n) <> 0 ORDER BY 1, 2")


async def test_writers_of_the_same_entity_figures_do_not_wait_on_each_other_and_a_fold_keeps_them(settings):
    """Two transactions writing entities of the same city, department and week: the second commits while the first
    is still open (with a tally row per key updated in place it waited for the first, and two writers taking keys
    in different orders deadlocked); changed, removed and folded, the tally is what counting the entities gives."""
    url = unique_database_url(settings, "dashboard_entity_tally")
    await upgrade(SERVICE_DIR, url)
    db = Database(url)
    now = clock.now()

    async def write(session, *entities: tuple[str, str, list[str]]) -> None:
        await session.execute(text(
            "INSERT INTO entities (uscc, name, division_code, city_code, status, departments, assignment_state, "
            "record_version, first_seen_at, last_changed_at, updated_at) SELECT u, '某某餐馆', '410105', c, 'active', "
            "CAST(d AS text[]), 'assigned', 1, :now, :now, :now "
            "FROM unnest(CAST(:u AS text[]), CAST(:c AS text[]), CAST(:d AS text[])) AS r(u, c, d)"),
            {"u": [e[0] for e in entities], "c": [e[1] for e in entities], "now": now,
             "d": ["{" + ",".join(e[2]) + "}" for e in entities]})
    try:
        async with db.transaction() as first:
            await write(first, ("E-1", "410100", ["samr-410100"]), ("E-2", "410300", ["nhc-410300"]))
            async with db.transaction() as second:
                await second.execute(text("SET LOCAL lock_timeout = '2s'"))
                await write(second, ("E-3", "410300", ["nhc-410300"]), ("E-4", "410100", ["samr-410100"]))
                await tallies.fold(second, entity_tally)    # a fold under way does not hold writers either
        async with db.transaction() as session:
            await session.execute(text("UPDATE entities SET departments = '{mem-410100}' WHERE uscc = 'E-1'"))
            await session.execute(text("UPDATE entities SET status = 'deregistered' WHERE uscc = 'E-2'"))
            await session.execute(text("DELETE FROM entities WHERE uscc = 'E-3'"))
        async with db.transaction() as session:
            assert (await session.execute(TALLIED)).all() == (await session.execute(COUNTED)).all()
            assert (await session.execute(ACTIVE_TALLIED)).all() == (await session.execute(ACTIVE_COUNTED)).all()
            await tallies.fold(session, entity_tally)
            await tallies.fold(session, active_entity_tally)
        async with db.transaction() as session:
            assert (await session.execute(TALLIED)).all() == (await session.execute(COUNTED)).all()
            assert (await session.execute(ACTIVE_TALLIED)).all() == (await session.execute(ACTIVE_COUNTED)).all()
            for tally in ("entity_tally", "active_entity_tally"):
                assert (await session.execute(text(f"SELECT count(*) FROM {tally} WHERE delta"))).scalar_one() == 0
    finally:
        await db.dispose()


async def test_a_case_the_registry_withdrew_leaves_the_office_s_queue(dashboard, dashboard_settings, raw_producer):
    """A case the registry withdrew (registry.adjudication.withdrawn.v1) leaves the queue and its figure, whatever
    the directory says: here the entity's record has not arrived (the import's cases, the directory's records
    replicated later), and the other entity's record still shows it waiting. A later case of an entity follows one
    withdrawn."""
    db = Database(dashboard_settings.database_url)
    closed, moved, waiting = new_uscc(), new_uscc(), new_uscc()
    now = clock.now()

    def case(uscc: str, hours_ago: int) -> tuple[str, bytes, str]:
        data = AdjudicationRequested(case_id=unique("AC"), uscc=uscc, name="某某数字藏品公司", reason="no_rule_matched",
                                     requested_at=now - timedelta(hours=hours_ago))
        env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
        return env.id, env.to_bytes(), data.case_id

    def withdrawn(uscc: str, case_id: str, hours_ago: int) -> tuple[str, bytes]:
        data = AdjudicationWithdrawn(case_id=case_id, uscc=uscc, name="某某数字藏品公司",
                                     reason="no longer needed after deregistered", withdrawn_by="registry",
                                     withdrawn_at=now - timedelta(hours=hours_ago))
        env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
        return env.id, env.to_bytes()

    def entity(uscc: str, version: int, hours_ago: int) -> tuple[str, bytes]:
        data = EntityChanged(
            uscc=uscc, name="某某数字藏品公司", entity_type="有限责任公司", address="河南省郑州市金水区农业路18号",
            division_code="410105", industry_code="7215", status="active", established_on="2020-05-01",
            responsible_departments=[], assignment_state="adjudication", assignment_source="rules",
            record_version=version, last_changed_at=now - timedelta(hours=hours_ago),
            updated_at=now - timedelta(hours=hours_ago))
        env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"))
        return env.id, env.to_bytes()

    gone, first, second, stays = case(closed, 5), case(moved, 5), case(moved, 1), case(waiting, 4)
    sent = [(topics.REGISTRY_ADJUDICATION, *gone[:2], closed),
            (topics.REGISTRY_ADJUDICATION, *withdrawn(closed, gone[2], 3), closed),
            (topics.REGISTRY_ADJUDICATION, *first[:2], moved),
            (topics.REGISTRY_ADJUDICATION, *withdrawn(moved, first[2], 2), moved),
            (topics.REGISTRY_ENTITIES, *entity(moved, 1, 5), moved),          # still waiting, as it was
            (topics.REGISTRY_ADJUDICATION, *second[:2], moved),
            (topics.REGISTRY_ADJUDICATION, *stays[:2], waiting)]
    for topic, _, value, key in sent:
        await raw_producer.send(topic, value, key=key.encode())
    await raw_producer.flush()
    try:
        await taken_in(db, dashboard_settings.read_model_group, [i for _, i, _, _ in sent], what="the cases")
        page = (await dashboard.get("/ui/adjudication", headers=OFFICE)).text
        assert f"/ui/entities/{closed}" not in page and page.count(f"/ui/entities/{moved}") == 1   # the later case
        assert f"/ui/entities/{waiting}" in page
        async with db.transaction() as s:
            assert (await s.execute(text("SELECT count(*) FROM adjudication_cases WHERE case_id = ANY(:ids) AND "
                                         "withdrawn_at IS NOT NULL"), {"ids": [gone[2], first[2]]})).scalar_one() == 2
    finally:
        await db.dispose()
