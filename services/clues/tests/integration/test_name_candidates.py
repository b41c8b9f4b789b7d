"""A name's candidates are read through the replica's index, never by reading the whole replica, also while the
replica is filling and its statistics still say it is empty (a new deployment, a replay from the log), on a real
PostgreSQL; and they are the entities sharing the name's pieces in its city."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from jsp_common import replica
from jsp_common.db import Database
from jsp_common.migrations import upgrade
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import unique_database_url

from clues.adapters import directory
from clues.adapters.tables import entities
from clues.domain.text import search_grams

SERVICE_DIR = Path(__file__).resolve().parents[2]
TRADES = ("餐饮", "商贸", "科技", "燃气", "医药", "实业")
BRANDS = ("中原", "黄河", "嵩山", "伏牛", "洛神", "商都", "牡丹", "太行", "淮河", "豫龙", "龙门", "少林")
CITIES = {"410100": "郑州", "410300": "洛阳", "411300": "南阳"}


async def test_candidates_come_through_the_index_while_the_replica_is_filling(settings):
    db = Database(unique_database_url(settings, "clues_candidates"))
    named = [(f"{place}{b1}{b2}{trade}有限公司", city, place)
             for city, place in CITIES.items() for b1 in BRANDS for b2 in BRANDS for trade in TRADES]
    rows = [{"uscc": new_uscc(), "name": name, "address": f"{place}市某路1号", "division_code": city[:4] + "02",
             "city_code": city, "status": "active", "version": 1, **directory.name_columns(name, city)}
            for name, city, place in named]
    try:
        await upgrade(SERVICE_DIR, db.url)
        async with db.transaction() as session:  # analysed empty, as a new replica is: then 2,592 entities
            await session.execute(text("ANALYZE replica_entities"))
        async with db.transaction() as session:  # as the replica's consumer writes them
            await replica.upsert(session, entities, rows)
        wanted = "洛阳黄河嵩山燃气有限公司"
        grams = search_grams(wanted)
        async with db.transaction() as session:
            [found] = await directory.entity_candidates(session, [(grams, grams, "410300")], limit=50)
            scans = (await session.execute(text(
                "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'replica_entities'"))).one()
            after = (await session.execute(text("SHOW enable_seqscan"))).scalar_one()  # for this statement only
        assert found[0]["name"] == wanted and len(found) == 50
        assert {f["city_code"] for f in found} == {"410300"}
        assert scans.seq_scan == 0 and scans.idx_scan >= 1, scans
        assert after == "on"
    finally:
        await db.dispose()
