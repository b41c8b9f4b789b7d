"""The bulk import's statements (asyncpg, one connection): COPY into a staging table or straight into an empty
directory, the set-based merge into ``entities``, and the secondary indexes dropped and rebuilt around it.
Column lists come from ``domain.import_rows.ENTITY_COLUMNS`` (what a checked row gives) and are built by name."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import asyncpg

from ..domain.directory import ASSIGNMENT_FIELDS
from ..domain.import_rows import DECIDED, ENTITY_COLUMNS

STAGING = "import_staging"
STAGING_COLUMNS = (*ENTITY_COLUMNS, "line")  # ... and, in the staging table, its line number
# The columns the file decides (the merge replaces them when the row is newer).
RECORD = tuple(c for c in ENTITY_COLUMNS if c not in ("uscc", *DECIDED, "last_changed_at", "assignment_source"))
# A new entity's columns, as SQL over a checked row (``x``).
_NEW = {"uscc": "uscc", **{c: c for c in RECORD}, **{c: c for c in ASSIGNMENT_FIELDS}, "assignment_source": "'rules'",
        "rule_version": "rule_version", "version": "1", "published_version": "0", "last_changed_at": "last_changed_at",
        "created_at": "now()", "updated_at": "now()"}
_INSERT_NEW = f"INSERT INTO entities {{alias}}({', '.join(_NEW)}) SELECT {', '.join(_NEW.values())} FROM {{source}}"
_CHANGED = " OR ".join(f"e.{c} IS DISTINCT FROM {{x}}.{c}" for c in RECORD)
# What the office decided stays where it was decided (an import does not overrule it in the entity's city; moved to
# another city, the row's rules decide, as the intake's ``directory.office_decision_stands``), and so does an entity
# a department disputed (it waits for the office with its departments, as in the intake). A closed business waits
# for no one: its departments stay and its case is withdrawn after the merge (``usecases.bulk_import``), as in the
# intake.
_OFFICE_STANDS = "(e.assignment_source = 'office' AND e.city_code IS NOT DISTINCT FROM {x}.city_code)"
_DISPUTED = "(e.assignment_state = 'adjudication' AND cardinality(e.departments) > 0)"
_KEPT = {c: f"CASE WHEN {_OFFICE_STANDS} OR {_DISPUTED} THEN e.{c} ELSE {{x}}.{c} END" for c in ASSIGNMENT_FIELDS}
_KEPT["assignment_source"] = f"CASE WHEN {_OFFICE_STANDS} OR {_DISPUTED} THEN e.assignment_source ELSE 'rules' END"
_KEPT["assignment_state"] = (f"CASE WHEN {{x}}.status <> 'active' AND {_DISPUTED} THEN 'assigned' "
                             f"ELSE {_KEPT['assignment_state']} END")
_SET = ", ".join([*(f"{c} = {{x}}.{c}" for c in RECORD), *(f"{c} = {v}" for c, v in _KEPT.items()),
                  "rule_version = {x}.rule_version", "version = e.version + 1",
                  "last_changed_at = {x}.last_changed_at", "updated_at = now()",
                  # a line states particulars and status at once: both as of its time
                  "stated_at = {x}.last_changed_at", "status_changed_at = {x}.last_changed_at"])
_OPEN_CASE = ("INSERT INTO adjudication_cases (id, uscc, reason, status, candidate_departments, detail, opened_at, "
              "opened_by) SELECT gen_random_uuid()::text, uscc, 'no_rule_matched', 'open', '{{}}', "
              "'no responsibility rule matches (import)', now(), $1 FROM {source} "
              "ON CONFLICT (uscc) WHERE status = 'open' DO NOTHING")


def _merge(source: str) -> str:
    """The upsert of ``source`` (rows with one line per USCC) into ``entities``, opening adjudication cases."""
    return f"""
WITH up AS (
    {_INSERT_NEW.format(alias="AS e ", source=source)}
    ON CONFLICT (uscc) DO UPDATE SET {_SET.format(x="EXCLUDED")}
    WHERE e.last_changed_at <= EXCLUDED.last_changed_at AND ({_CHANGED.format(x="EXCLUDED")})
    RETURNING e.uscc, e.assignment_state, cardinality(e.departments) AS n, (xmax = 0) AS inserted
), cases AS (
    {_OPEN_CASE.format(source="up WHERE assignment_state = 'adjudication' AND n = 0")}
    RETURNING 1
)
SELECT (SELECT count(*) FROM up WHERE inserted) AS inserted,
       (SELECT count(*) FROM up WHERE NOT inserted) AS updated,
       (SELECT count(*) FROM {source}) AS distinct_rows,
       (SELECT count(*) FROM cases) AS cases
"""


# The line that wins for each USCC when one occurs more than once (one command may not upsert a row twice):
# the latest change, then the last line.
LATEST = (f'(SELECT DISTINCT ON (uscc COLLATE "C") * FROM {STAGING} '
          'ORDER BY uscc COLLATE "C", last_changed_at DESC, line DESC) AS x')
# Every line when each USCC occurs once, in USCC order as LATEST: the merge locks entities in the order the
# intake does (a poll's entities by USCC), so an import and the intake changing the same entities wait for each
# other one way only, never each for the other.
IN_KEY_ORDER = f'(SELECT * FROM {STAGING} ORDER BY uscc COLLATE "C") AS x'
STAGED = f'SELECT count(*) AS lines, count(DISTINCT uscc COLLATE "C") AS entities FROM {STAGING}'


def _update_locked(source: str) -> str:
    """For a directory this transaction has locked, the merge is an UPDATE of the existing records ..."""
    return (f"UPDATE entities AS e SET {_SET.format(x='x')} FROM {source} "
            f"WHERE e.uscc = x.uscc AND e.last_changed_at <= x.last_changed_at AND ({_CHANGED.format(x='x')})")


def _insert_locked(source: str) -> str:
    """... and a plain INSERT of the new ones (cheaper than a speculative INSERT ... ON CONFLICT per row) ..."""
    return (_INSERT_NEW.format(alias="", source=source)
            + " WHERE NOT EXISTS (SELECT FROM entities e WHERE e.uscc = x.uscc)")


# ... after which the records this transaction wrote (updated_at = now(), the transaction's start) that no
# rule matches open adjudication cases.
OPEN_CASES_LOCKED = _OPEN_CASE.format(
    source="entities WHERE updated_at = now() AND assignment_state = 'adjudication' AND cardinality(departments) = 0")

# The secondary indexes of ``entities`` (everything but the primary key the merge needs).
SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i WHERE i.indrelid = 'entities'::regclass AND NOT i.indisprimary ORDER BY 1
"""


def count(status: str) -> int:
    """The row count of a command status such as ``INSERT 0 12`` or ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])


async def directory_is_empty(conn: asyncpg.Connection) -> bool:
    return not await conn.fetchval("SELECT EXISTS (SELECT FROM entities)")


async def copy_rows(conn: asyncpg.Connection, table: str, columns: tuple[str, ...],
                    source: AsyncIterator[bytes]) -> None:
    await conn.copy_to_table(table, source=source, columns=columns, format="text")


async def drop_secondary_indexes(conn: asyncpg.Connection) -> list:
    """Drop the secondary indexes of ``entities`` (locking it) for this transaction; their definitions."""
    indexes = await conn.fetch(SECONDARY_INDEXES)
    await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for ix in indexes:
        await conn.execute(f"DROP INDEX {ix['name']}")
    return indexes


async def build_indexes(conn: asyncpg.Connection, indexes: list) -> None:
    """Build them again, then gather the planner's statistics (a search by name picks its plan from the
    statistics of the name index's bigrams: without them, a common bigram was planned as a rare one)."""
    for ix in indexes:
        await conn.execute(ix["definition"])
    if indexes:
        await conn.execute("ANALYZE entities")


async def open_cases_locked(conn: asyncpg.Connection, actor: str) -> int:
    return count(await conn.execute(OPEN_CASES_LOCKED, actor))


async def create_staging(conn: asyncpg.Connection) -> None:
    """The staging table: the checked rows' columns of ``entities`` (their types from the table) and the line.
    It lives in this session's memory (set before its first use) rather than on disk."""
    await conn.execute("SET temp_buffers = '512MB'")
    await conn.execute(f"CREATE TEMP TABLE {STAGING} AS SELECT {', '.join(ENTITY_COLUMNS)}, NULL::bigint AS line "
                       "FROM entities WITH NO DATA")


async def drop_staging(conn: asyncpg.Connection) -> None:
    await conn.execute(f"DROP TABLE {STAGING}")


async def merge_staged(conn: asyncpg.Connection, actor: str, rebuild_indexes: bool | None) -> dict[str, Any]:
    """Merge the staging table into ``entities`` in one transaction (rebuilding its secondary indexes when
    the load brings at least as many new entities as the directory has)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL work_mem = '256MB'")
        # Join the staging table by hashing: a nested loop would re-scan the directory (which the merge
        # itself fills, and whose statistics may say it is empty) once per row.
        await conn.execute("SET LOCAL enable_nestloop = off")
        counted = await conn.fetchrow(STAGED)
        if rebuild_indexes is None:  # when the load at least doubles the directory
            existing = await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'entities'::regclass")
            if existing < 0:  # never analysed
                existing = await conn.fetchval("SELECT count(*) FROM entities")
            new = await conn.fetchval(f"SELECT count(DISTINCT uscc) FROM {STAGING} x "
                                      "WHERE NOT EXISTS (SELECT FROM entities e WHERE e.uscc = x.uscc)")
            rebuild_indexes = new > 0 and new >= existing
        indexes = await drop_secondary_indexes(conn) if rebuild_indexes else []
        source = LATEST if counted["lines"] != counted["entities"] else IN_KEY_ORDER
        if not indexes:
            return dict(await conn.fetchrow(_merge(source), actor))
        updated = count(await conn.execute(_update_locked(source)))
        inserted = count(await conn.execute(_insert_locked(source)))
        cases = await open_cases_locked(conn, actor)
        await build_indexes(conn, indexes)
    return {"inserted": inserted, "updated": updated, "distinct_rows": counted["entities"], "cases": cases}


async def record_import(conn: asyncpg.Connection, actor: str, details: dict[str, Any]) -> None:
    """The run, as one entry in ``decisions``."""
    await conn.execute("INSERT INTO decisions (uscc, action, actor, at, details) VALUES (NULL, "
                       "'directory_imported', $1, now(), $2::jsonb)", actor, json.dumps(details))
