"""Every service's migration chain, on a real PostgreSQL: from an empty database to head, the schema is
exactly what the service's code declares (a table or index changed in code without a revision fails
here); down to base removes it all; and up again works."""

from __future__ import annotations

import importlib
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from jsp_common.clock import TZ
from jsp_common.db import Database
from jsp_common.messaging_tables import metadata as messaging_metadata
from jsp_common.migrations import downgrade, upgrade
from jsp_common.schedule_feed import packaged_schedule
from jsp_testkit.testing import unique_database_url

SERVICES = Path(__file__).resolve().parents[2] / "services"


def _differences(sync_conn, metadatas) -> list:
    return compare_metadata(MigrationContext.configure(sync_conn), metadatas)


def _tables(sync_conn) -> set[str]:
    return set(inspect(sync_conn).get_table_names()) - {"alembic_version"}


@pytest.mark.parametrize("service", sorted(p.name for p in SERVICES.iterdir() if (p / "alembic.ini").exists()))
async def test_chain_builds_the_declared_schema_and_unwinds(settings, service):
    url = unique_database_url(settings, f"chain_{service}")
    here = SERVICES / service
    declared = [importlib.import_module(f"{service}.adapters.tables").metadata, messaging_metadata]
    database = Database(url)
    try:
        await upgrade(here, url)
        async with database.engine.connect() as conn:
            assert await conn.run_sync(_differences, declared) == []

        await downgrade(here, url, "base")
        async with database.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()

        await upgrade(here, url)
        async with database.engine.connect() as conn:
            assert await conn.run_sync(_differences, declared) == []
    finally:
        await database.dispose()


async def test_starter_rules_added_later_reach_databases_seeded_before(settings):
    """A clues database seeded with the first starter rules gets the ones added since when it upgrades, and
    keeps the office's own edit of a keyword it already had."""
    url = unique_database_url(settings, "chain_clues_data")
    database = Database(url)
    keywords = "SELECT keyword, lead_agency, enabled FROM routing_rules WHERE keyword = ANY($1::text[])"
    try:
        await upgrade(SERVICES / "clues", url, "0002")
        async with database.engine.begin() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            assert await pg.fetch(keywords, ["后厨", "腹泻", "卫生条件"]) == []
            await pg.execute("INSERT INTO routing_rules (keyword, domain, lead_agency, enabled) "
                             "VALUES ('腹泻', 'food', 'nhc', false)")  # the office's own rule, disabled
        await upgrade(SERVICES / "clues", url)
        async with database.engine.connect() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            got = {tuple(r) for r in await pg.fetch(keywords, ["后厨", "腹泻", "卫生条件"])}
        assert got == {("卫生条件", "samr", True), ("后厨", "samr", True), ("腹泻", "nhc", False)}
    finally:
        await database.dispose()


async def test_deadline_policies_kept_before_categories_are_the_general_ones(settings):
    """Revision 0010 on a clues database in use: its policies, the starter ones and the office's own, become the
    general ones (category *), so no clue's limit changes; a category's own policy can then be set beside them."""
    url = unique_database_url(settings, "chain_clues_policies")
    database = Database(url)
    try:
        await upgrade(SERVICES / "clues", url, "0009")
        async with database.engine.begin() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            await pg.execute("UPDATE deadline_policies SET workdays = 4, updated_by = 'office-1' "
                             "WHERE channel = 'media' AND urgency = 'normal'")
            before = {(r["channel"], r["urgency"]): (r["workdays"], r["updated_by"])
                      for r in await pg.fetch("SELECT * FROM deadline_policies")}
        await upgrade(SERVICES / "clues", url)
        async with database.engine.begin() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            after = {(r["channel"], r["urgency"], r["category"]): (r["workdays"], r["updated_by"])
                     for r in await pg.fetch("SELECT * FROM deadline_policies")}
            await pg.execute("INSERT INTO deadline_policies (channel, urgency, category, workdays) "
                             "VALUES ('*', 'normal', '投诉', 13)")
        assert after == {(channel, urgency, "*"): kept for (channel, urgency), kept in before.items()}
        assert after[("media", "normal", "*")] == (4, "office-1") and after[("*", "normal", "*")] == (5, "seed")
    finally:
        await database.dispose()


async def test_open_transfer_timers_become_working_days_and_return_windows_are_kept_as_counted(settings):
    """Revision 0009 on a clues database in use: a dispatched clue's return window is kept with its start and working
    days, counted with the holiday schedules its deadlines were counted with (a correction made Fri 9 Oct a day
    off: the window to Sat 10 Oct is 2 working days, not the packaged calendar's 3); a transfer's running approval
    or police-decision timer, counted in calendar days until then, takes as many working days and is marked to be
    counted again, its deadline as announced (the first start counts it, to the end of Sat 10 Oct for one asked on
    Wed 30 Sep 2026 at 16:00, and tells the police: moved without a word, their systems kept 3 Oct); one already
    announced as run out stays as it was announced."""
    url = unique_database_url(settings, "chain_clues_timers")
    database = Database(url)
    asked, handed = datetime(2026, 9, 30, 16, tzinfo=TZ), datetime(2026, 11, 2, 9, tzinfo=TZ)
    try:
        await upgrade(SERVICES / "clues", url, "0008")
        async with database.engine.begin() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            corrected = packaged_schedule(2026)
            await pg.execute("INSERT INTO counted_schedules (year, revision, holidays, makeup_workdays, counted_at) "
                             "VALUES (2026, 2, $1, $2, now())", sorted(corrected.holidays | {date(2026, 10, 9)}),
                             sorted(corrected.makeup_workdays))
            await pg.execute("INSERT INTO clues (id, channel, channel_ref, content, received_at, urgency, state, "
                             "lead_department, dispatched_at, return_deadline) VALUES ('CL-1', 'hotline', 'WO-1', "
                             "'食品过期', $1, 'normal', 'dispatched', 'samr-410100', $1, $2)",
                             asked, datetime(2026, 10, 10, 23, 59, 59, tzinfo=TZ))
            for tid, status, overdue, handed_over_at in (("TR-asked", "pending_approval", [], None),
                                                         ("TR-late", "pending_approval", ["approval"], None),
                                                         ("TR-handed", "handed_over", [], handed)):
                await pg.execute(
                    "INSERT INTO case_transfers (id, clue_id, direction, status, department, police_department, "
                    "requested_by, requested_at, approval_deadline, handed_over_at, decision_deadline, overdue) "
                    "VALUES ($1, 'CL-1', 'to_police', $2, 'samr-410100', 'mps-410100', 'team', $3, $4, $5, $6, $7)",
                    tid, status, asked, asked + timedelta(days=3), handed_over_at,
                    handed_over_at and handed_over_at + timedelta(days=3), overdue)
        await upgrade(SERVICES / "clues", url)
        async with database.engine.connect() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            clue = await pg.fetchrow("SELECT return_deadline_from, return_deadline_workdays, "
                                     "return_deadline_provisional FROM clues")
            got = {r["id"]: r for r in await pg.fetch("SELECT * FROM case_transfers")}
        assert tuple(clue) == (asked, 2, False)
        assert (got["TR-asked"]["approval_deadline"], got["TR-asked"]["approval_deadline_from"],
                got["TR-asked"]["approval_deadline_workdays"], got["TR-asked"]["approval_deadline_provisional"]) == (
            asked + timedelta(days=3), asked, 3, True)
        assert (got["TR-late"]["approval_deadline"], got["TR-late"]["approval_deadline_from"]) == (
            asked + timedelta(days=3), None)
        assert (got["TR-handed"]["decision_deadline"], got["TR-handed"]["decision_deadline_workdays"],
                got["TR-handed"]["decision_deadline_provisional"]) == (handed + timedelta(days=3), 3, True)
    finally:
        await database.dispose()


async def test_notifications_before_and_from_the_release_before_take_the_setting_when_the_registry_upgrades(settings):
    """Revision 0011 on a registry database in use: a notification issued before it keeps no working days (NULL: the
    registry's own setting counts it again, as before; the migration runs without the service's settings), and the
    release before, still running while the new one rolls out, inserts notifications as it did (no column to fill)."""
    url = unique_database_url(settings, "chain_registry_workdays")
    database = Database(url)
    insert = ("INSERT INTO notifications (id, uscc, department, kind, cause, issued_at, acknowledge_by, "
              "acknowledge_by_provisional) VALUES ($1, '91410100MA00000000', 'samr-410100', 'new_responsibility', "
              "'registered', $2, $3, true)")
    issued = datetime(2026, 12, 30, 10, tzinfo=TZ)
    try:
        await upgrade(SERVICES / "registry", url, "0010")
        async with database.engine.begin() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            await pg.execute(insert, "N-1", issued, datetime(2027, 1, 5, 23, 59, 59, tzinfo=TZ))
        await upgrade(SERVICES / "registry", url)
        async with database.engine.begin() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            await pg.execute(insert, "N-2", issued, datetime(2027, 1, 5, 23, 59, 59, tzinfo=TZ))  # the release before
            kept = await pg.fetch("SELECT id, acknowledge_within_workdays FROM notifications ORDER BY id")
            assert [tuple(r) for r in kept] == [("N-1", None), ("N-2", None)]
    finally:
        await database.dispose()


async def test_the_entities_in_operation_are_counted_from_the_entities_recorded_before(settings):
    """Revision 0017 on a dashboard database in use: the entities in operation per city and department are counted
    from the entities there (a deregistered one left out), and the triggers keep them from then on."""
    url = unique_database_url(settings, "chain_dashboard_active")
    database = Database(url)
    active = ("SELECT city_code, department, sum(n)::int FROM active_entity_tally GROUP BY 1, 2 HAVING sum(n) <> 0 "
              "ORDER BY 1, 2")
    try:
        await upgrade(SERVICES / "dashboard", url, "0016")
        async with database.engine.begin() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            await pg.execute(
                "INSERT INTO entities (uscc, name, division_code, city_code, status, departments, assignment_state, "
                "record_version, first_seen_at, last_changed_at, updated_at) SELECT u, '某某餐馆', '410105', c, s, "
                "d::text[], "
                "'assigned', 1, now(), now(), now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
                "AS r(u, c, s, d)", ["E-1", "E-2", "E-3"], ["410100", "410100", "410300"],
                ["active", "deregistered", "active"], ["{samr-410100}", "{samr-410100}", "{nhc-410300}"])
        await upgrade(SERVICES / "dashboard", url)
        async with database.engine.begin() as conn:
            pg = (await conn.get_raw_connection()).driver_connection
            assert [tuple(r) for r in await pg.fetch(active)] == [
                ("410100", "", 1), ("410100", "samr-410100", 1), ("410300", "", 1), ("410300", "nhc-410300", 1)]
            await pg.execute("UPDATE entities SET status = 'revoked' WHERE uscc = 'E-1'")
            assert [tuple(r) for r in await pg.fetch(active)] == [("410300", "", 1), ("410300", "nhc-410300", 1)]
    finally:
        await database.dispose()
