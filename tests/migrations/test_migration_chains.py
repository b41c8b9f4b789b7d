"""Every service's migration chain, on a real PostgreSQL: from an empty database to head, the schema is
exactly what the service's code declares (a table or index changed in code without a revision fails
here); down to base removes it all; and up again works."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from jsp_common.db import Database
from jsp_common.messaging_tables import metadata as messaging_metadata
from jsp_common.migrations import downgrade, upgrade
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
