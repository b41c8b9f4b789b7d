"""The clue figures from the tally, on a real PostgreSQL: after clues written before the tally existed, then
inserted, moved between states and departments, returned, deleted, in several statements and transactions, and
folded part-way, every scope's figures are what counting every clue gives; writers of the same figures do not
wait on each other; the returns and re-dispatches figures count the clues their lists hold; and re-dispatches
recorded before they were counted are counted by the migration."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from jsp_common import clock
from jsp_common.db import Database
from jsp_common.envelope import new_envelope
from jsp_common.events.clues import ClueTransitioned
from jsp_common.migrations import upgrade
from jsp_testkit.testing import unique_database_url

from dashboard.adapters import clue_figures, tallies
from dashboard.adapters.tables import clue_tally
from dashboard.settings import Settings
from dashboard.usecases import ingest, lists, overview

SERVICE_DIR = Path(__file__).resolve().parents[2]
SAMR, NHC, MEM = "samr-410100", "nhc-410100", "mem-410300"
COUNTED = ("clues", "clues_open", "clues_overdue", "clues_due_soon", "clues_chased", "clues_escalated",
           "clues_returned", "clues_redispatched")

# What the figures count, read from every clue (the definition the tally must agree with).
EVERY_CLUE = text("""
SELECT c.lead_department AS lead, c.city_code AS city, c.state,
       CASE WHEN c.received_at >= :since THEN date_trunc('week', timezone('Asia/Shanghai', c.received_at)) END AS week,
       count(*) AS clues,
       count(*) FILTER (WHERE c.state IN ('received', 'pending_dispatch', 'dispatched', 'returned', 'accepted',
                                          'verifying', 'handled')) AS clues_open,
       count(*) FILTER (WHERE c.state IN ('dispatched', 'accepted', 'verifying', 'handled')
                          AND c.deadline < :now) AS clues_overdue,
       count(*) FILTER (WHERE c.state IN ('dispatched', 'accepted', 'verifying', 'handled')
                          AND c.deadline >= :now AND c.deadline < :soon) AS clues_due_soon,
       count(*) FILTER (WHERE a.chased) AS clues_chased, count(*) FILTER (WHERE a.escalated) AS clues_escalated,
       count(*) FILTER (WHERE c.returns > 0) AS clues_returned,
       count(*) FILTER (WHERE c.redispatches > 0) AS clues_redispatched
FROM clues c LEFT JOIN (SELECT clue_id, bool_or(kind = 'chased') AS chased, bool_or(kind = 'escalated') AS escalated
                        FROM clue_alerts WHERE CAST(:dept AS text) IS NULL OR department = :dept GROUP BY clue_id) a
     ON a.clue_id = c.clue_id
WHERE CAST(:dept AS text) IS NULL OR c.lead_department = :dept OR :dept = ANY(c.co_departments)
GROUP BY 1, 2, 3, 4""")

INSERT = text("""
INSERT INTO clues (clue_id, channel, channel_ref, state, city_code, lead_department, co_departments, deadline,
                   received_at, updated_at, returns, redispatches)
SELECT id, 'hotline', 'WO-' || id, state, city, lead, co, deadline, received, received, 0, 0
FROM unnest(CAST(:ids AS text[]), CAST(:states AS text[]), CAST(:cities AS text[]), CAST(:leads AS text[]),
            CAST(:deadlines AS timestamptz[]), CAST(:received AS timestamptz[])) AS r(id, state, city, lead, deadline, received),
     LATERAL (SELECT CAST(:co AS text[]) AS co) AS c""")


async def _insert(session, rows: list[tuple], co: list[str] | None = None) -> None:
    ids, states, cities, leads, deadlines, received = (list(x) for x in zip(*rows))
    await session.execute(INSERT, {"ids": ids, "states": states, "cities": cities, "leads": leads,
                                   "deadlines": deadlines, "received": received, "co": co or []})


async def _agree(db: Database, now: datetime) -> None:
    within, since = timedelta(hours=24), datetime.combine((now - timedelta(weeks=3)).date(), datetime.min.time(),
                                                          tzinfo=now.tzinfo)
    since -= timedelta(days=since.weekday())
    for dept in (None, SAMR, NHC, MEM):
        async with db.transaction() as session:
            got = await clue_figures.clue_facts(session, dept, now, within, since)
            want = (await session.execute(EVERY_CLUE, {"since": since, "now": now, "soon": now + within,
                                                       "dept": dept})).mappings().all()
        as_rows = lambda rows: sorted(((r["lead"], r["city"], r["state"], r["week"], *(int(r[k] or 0) for k in COUNTED))
                                       for r in rows), key=repr)
        assert as_rows(got) == as_rows(want), f"scope {dept or 'office'}"


async def test_the_figures_from_the_tally_are_those_of_every_clue_through_writes_deletes_and_folds(settings):
    url = unique_database_url(settings, "dashboard_tally")
    await upgrade(SERVICE_DIR, url, "0005")
    db = Database(url)
    now = clock.now()
    day = timedelta(days=1)
    try:
        async with db.transaction() as session:  # written before the tally existed: counted by the migration
            await _insert(session, [("OLD-1", "dispatched", "410100", SAMR, now - day, now - 40 * day),
                                    ("OLD-2", "closed", None, None, None, now - 2 * day)], co=[NHC])
            await session.execute(text("UPDATE clues SET returns = 2, redispatches = 2 WHERE clue_id = 'OLD-1'"))
        await upgrade(SERVICE_DIR, url)
        await _agree(db, now)

        async with db.transaction() as session:  # several statements in one transaction
            await _insert(session, [(f"A-{i}", "received", "410100" if i % 3 else "410300", None, None, now - i * day)
                                    for i in range(12)])
            await _insert(session, [("A-12", "received", "410100", None, None, now - 30 * day)], co=[MEM])
            await session.execute(text("UPDATE clues SET state = 'dispatched', lead_department = :lead, "
                                       "deadline = :due WHERE clue_id IN ('A-1', 'A-2', 'A-3', 'A-4')"),
                                  {"lead": SAMR, "due": now + 3 * day})
            await session.execute(text("UPDATE clues SET deadline = :due WHERE clue_id = 'A-2'"),
                                  {"due": now + timedelta(hours=5)})   # due soon
            await session.execute(text("UPDATE clues SET deadline = :due WHERE clue_id = 'A-4'"),
                                  {"due": now - timedelta(hours=5)})   # overdue since this morning
        await _agree(db, now)
        async with db.transaction() as session:
            await tallies.fold(session, clue_tally)
        async with db.transaction() as session:  # moved, returned, shared with co-operating departments, gone
            await session.execute(text("UPDATE clues SET state = 'returned', returns = returns + 1, "
                                       "lead_department = :lead WHERE clue_id = 'A-3'"), {"lead": MEM})
            await session.execute(text("UPDATE clues SET state = 'dispatched', redispatches = redispatches + 1, "
                                       "co_departments = :co, deadline = :due WHERE clue_id = 'A-3'"),
                                  {"co": [SAMR, NHC], "due": now - day})
            await session.execute(text("DELETE FROM clues WHERE clue_id IN ('A-5', 'OLD-2')"))
            await session.execute(text(
                "INSERT INTO clue_alerts (event_id, clue_id, department, role, kind, state, workdays, at) VALUES "
                "('E-1', 'A-1', :samr, 'lead', 'chased', 'dispatched', 1, :now), "
                "('E-2', 'A-1', :samr, 'lead', 'chased', 'dispatched', 0, :now), "
                "('E-3', 'A-3', :nhc, 'co', 'escalated', 'dispatched', 1, :now)"), {"samr": SAMR, "nhc": NHC, "now": now})
        await _agree(db, now)
        async with db.transaction() as session:
            await tallies.fold(session, clue_tally)
            deltas = (await session.execute(text("SELECT count(*) FROM clue_tally WHERE delta"))).scalar_one()
        assert deltas == 0
        await _agree(db, now)
    finally:
        await db.dispose()


async def test_writers_of_the_same_figures_do_not_wait_on_each_other(settings):
    """Two transactions adding clues of the same department, city, state and week: the second commits while the
    first is still open (with a tally row per key updated in place, it would wait for the first to end)."""
    url = unique_database_url(settings, "dashboard_tally_writers")
    await upgrade(SERVICE_DIR, url)
    db = Database(url)
    now = clock.now()
    try:
        async with db.transaction() as first:
            await _insert(first, [("W-1", "received", "410100", SAMR, None, now)])
            async with db.transaction() as second:
                await second.execute(text("SET LOCAL lock_timeout = '2s'"))
                await _insert(second, [("W-2", "received", "410100", SAMR, None, now)])
                await tallies.fold(second, clue_tally)  # a fold under way does not hold writers either
        async with db.transaction() as session:
            got = await clue_figures.clue_facts(session, SAMR, now, timedelta(hours=24), now - timedelta(days=7))
        assert sum(r["clues"] for r in got) == 2
    finally:
        await db.dispose()


def _steps(clue_id: str, actions: list[tuple[str, str | None, str]], first_at: datetime) -> list[tuple]:
    return [(data, new_envelope(type=ClueTransitioned.event_type, source="/test", data=data.model_dump(mode="json")))
            for data in (ClueTransitioned(
                clue_id=clue_id, channel="hotline", channel_ref=f"WO-{clue_id}", action=action, from_state=before,
                to_state=after, actor="office-duty", at=first_at + timedelta(minutes=i), division_code="410105",
                lead_department=SAMR) for i, (action, before, after) in enumerate(actions))]


async def test_the_returned_and_redispatched_figures_count_the_clues_their_lists_hold(settings):
    """A clue returned and re-dispatched twice, another returned once: the cards (曾退回, 退回后再分派) said 3 and 2,
    counting returns and re-dispatches, while the lists they open held 2 clues and 1. They now say so, for the
    office and for the lead department; each row of the list still shows how many times."""
    url = unique_database_url(settings, "dashboard_returned")
    await upgrade(SERVICE_DIR, url)
    db, s = Database(url), Settings(database_url=url)
    now = clock.now()
    # the office sends a returned clue on again (redispatch), or decides between the departments (arbitrate)
    back_and_forth = [("receive", None, "received"), ("dispatch", "received", "dispatched"),
                      ("return", "dispatched", "returned"), ("redispatch", "returned", "dispatched"),
                      ("return", "dispatched", "returned"), ("arbitrate", "returned", "dispatched")]
    twice, once = _steps("R-TWICE", back_and_forth, now - timedelta(hours=2)), _steps("R-ONCE", back_and_forth[:3], now)
    try:
        for poll in (twice[:3] + once, twice[3:]):  # the second return in a later poll
            async with db.transaction() as session:
                await ingest.clue_transitions(session, poll)
        for viewer in (None, SAMR):
            figures = await overview.kept(db, s, viewer)
            async with db.transaction() as session:
                total, rows = await lists.clues(session, s, viewer, lists.Filters(status="returned"), clock.now())
            assert figures["totals"]["clues_returned"] == total == 2, viewer
            assert {r["clue_id"]: r["returns"] for r in rows} == {"R-TWICE": 2, "R-ONCE": 1}
            async with db.transaction() as session:
                total, rows = await lists.clues(session, s, viewer, lists.Filters(status="redispatched"), clock.now())
            assert figures["totals"]["clues_redispatched"] == total == 1, viewer
            assert {r["clue_id"]: r["redispatches"] for r in rows} == {"R-TWICE": 2}
    finally:
        await db.dispose()


async def test_clues_re_dispatched_before_the_figure_counted_them_are_counted_by_the_migration(settings):
    """Re-dispatches recorded as the clues service records them (redispatch, arbitrate) were counted as none: the
    migration counts them again from the clues' transitions, and the figures follow."""
    url = unique_database_url(settings, "dashboard_redispatched")
    await upgrade(SERVICE_DIR, url, "0012")
    db, now = Database(url), clock.now()
    steps = [("return", "dispatched", "returned"), ("redispatch", "returned", "dispatched"),
             ("return", "dispatched", "returned"), ("arbitrate", "returned", "dispatched")]
    try:
        async with db.transaction() as session:
            await _insert(session, [("R-OLD", "dispatched", "410100", SAMR, None, now - timedelta(days=2)),
                                    ("R-NONE", "dispatched", "410100", SAMR, None, now - timedelta(days=1))])
            await session.execute(text("UPDATE clues SET returns = 2 WHERE clue_id = 'R-OLD'"))
            await session.execute(text(
                "INSERT INTO clue_transitions (event_id, clue_id, at, action, from_state, to_state, actor) "
                "SELECT 'E-' || n, 'R-OLD', CAST(:now AS timestamptz) - n * interval '1 hour', a, f, t, 'office-duty' "
                "FROM unnest(CAST(:actions AS text[]), CAST(:froms AS text[]), CAST(:tos AS text[])) "
                "WITH ORDINALITY AS s(a, f, t, n)"),
                {"now": now, "actions": [a for a, _, _ in steps], "froms": [f for _, f, _ in steps],
                 "tos": [t for _, _, t in steps]})
        await upgrade(SERVICE_DIR, url)
        async with db.transaction() as session:
            counts = dict((await session.execute(text("SELECT clue_id, redispatches FROM clues"))).all())
        assert counts == {"R-OLD": 2, "R-NONE": 0}
        await _agree(db, now)
        figures = await overview.kept(db, Settings(database_url=url), None)
        assert figures["totals"]["clues_redispatched"] == 1
    finally:
        await db.dispose()
