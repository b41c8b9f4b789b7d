"""The directory's records: reading them as domain values, searching, and the batch jobs' selections."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any, AsyncIterator, Sequence

from sqlalchemy import Text, and_, any_, bindparam, cast, false, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import divisions, industries
from jsp_common.db import Database, Query, element_shares

from ..domain.directory import RECORD_FIELDS, Record
from ..domain.rules import Rule
from .tables import decisions, entities, entity_history, notifications

# Record fields kept as tuples (their columns are arrays).
_TUPLES = frozenset(f.name for f in fields(Record) if str(f.type).startswith("tuple"))


def record_from_row(row) -> Record:
    m = row._mapping
    return Record(**{k: tuple(m[k]) if k in _TUPLES else m[k] for k in RECORD_FIELDS})


async def load_record(session: AsyncSession, uscc: str, *, lock: bool = False) -> Record | None:
    q = select(entities).where(entities.c.uscc == uscc)
    if lock:
        q = q.with_for_update()
    row = (await session.execute(q)).first()
    return record_from_row(row) if row else None


def _uscc_in(name: str = "ids"):
    return entities.c.uscc == any_(bindparam(name, type_=ARRAY(Text)))


async def load_records(session: AsyncSession, usccs: Sequence[str], *, lock: bool = False) -> dict[str, Record]:
    """The current records of several entities at once (locked in USCC order, so two writers cannot deadlock)."""
    q = select(entities).where(_uscc_in()).order_by(entities.c.uscc)
    if lock:
        q = q.with_for_update()
    rows = (await session.execute(q, {"ids": sorted(set(usccs))})).all()
    return {row.uscc: record_from_row(row) for row in rows}


async def stamp_rule_version(session: AsyncSession, usccs: Sequence[str], version: int) -> None:
    """Mark entities as decided under rule set ``version`` (their departments stay as they are)."""
    if usccs:
        await session.execute(update(entities).where(_uscc_in()).values(rule_version=version), {"ids": list(usccs)})


async def mark_disputed(session: AsyncSession, uscc: str, now: datetime) -> None:
    """The entity waits for the office (a new version of the record, published with it)."""
    await session.execute(update(entities).where(entities.c.uscc == uscc).values(
        assignment_state="adjudication", version=entities.c.version + 1, published_version=entities.c.version + 1,
        updated_at=now))


# ------------------------------------------------------------------ matching in SQL
def _like_literal(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (backslash, PostgreSQL's default escape: the plain ``LIKE``
    form, which the name's trigram index serves)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column, text: str):
    return column.like(f"%{_like_literal(text)}%")


def _starts_with(column, text: str):
    return column.like(f"{_like_literal(text)}%")


def matched_by_any(rules: Sequence[Rule]):
    """The entities one of ``rules`` may match, by industry, licence type or scope keyword: a superset that
    SQL can narrow cheaply (divisions and negated scope clauses are left to the rules themselves). Three
    parameters (arrays of patterns) however many rules and terms: a statement takes at most 32,767."""
    def like_any(column, name: str, patterns: list[str]):
        unique = sorted(set(patterns))
        return [column.like(any_(bindparam(name, value=unique, type_=ARRAY(Text))))] if unique else []

    return or_(false(), *like_any(entities.c.industry_code, "industry_patterns", [
        f"{_like_literal(p)}%" for r in rules for p in industries.digit_prefixes(r.match.industries)]),
        *like_any(cast(entities.c.licences, Text), "licence_patterns",
                  [f"%{_like_literal(t)}%" for r in rules for t in r.match.licence_types]),
        *like_any(entities.c.business_scope, "scope_patterns",
                  [f"%{_like_literal(k)}%" for r in rules for k in r.match.scope_keywords]))


# ------------------------------------------------------------------ queries
def entity_filters(*, name: str | None = None, division: str | None = None, industry: str | None = None,
                   department: str | None = None, status: str | None = None, assignment_state: str | None = None,
                   name_by_index: bool = True) -> list:
    """``name_by_index``: look the name up through its bigram index (else every name is read and checked)."""
    where = []
    if name:
        where.append(_contains(entities.c.name, name))
        if name_by_index and len(name) >= 2:  # a single character has no bigram: every name is checked
            where.append(func.name_bigrams(entities.c.name).op("@>")(func.name_bigrams(name)))
    if division and division != divisions.PROVINCE_CODE:
        where.append(or_(entities.c.division_code == division, entities.c.city_code == division))
    if industry:
        where.append(_starts_with(entities.c.industry_code, industry))
    if department:
        where.append(entities.c.departments.contains([department]))
    if status:
        where.append(entities.c.status == status)
    if assignment_state:
        where.append(entities.c.assignment_state == assignment_state)
    return where


async def search_entities(session: AsyncSession, *, where: list, count_where: list, limit: int, offset: int,
                          count_cap: int) -> tuple[int, bool, list]:
    """A page in USCC order (``where``), and the number of matches counted up to ``count_cap`` (whether there are
    more) through ``count_where``: the same matches, maybe looked up another way."""
    cond = and_(*where) if where else true()
    matches = select(entities.c.uscc).where(and_(*count_where) if count_where else true()).limit(count_cap + 1)
    total = (await session.execute(select(func.count()).select_from(matches.subquery()))).scalar_one()
    rows = (await session.execute(select(entities).where(cond).order_by(entities.c.uscc)
                                  .limit(limit).offset(offset))).all()
    return min(total, count_cap), total > count_cap, rows


async def name_bigram_shares(session: AsyncSession) -> dict[str, float]:
    """The share of names holding each of the commonest bigrams, from the planner's statistics of the name
    index (empty before the directory was first analysed)."""
    return await element_shares(session, "entities_name_bigrams", "name_bigrams")


_ENTITY = Query(select(entities).where(entities.c.uscc == bindparam("uscc")))


async def entity_row(db: Database, uscc: str) -> dict[str, Any] | None:
    """The whole row of an entity (with the columns the domain does not keep), or None: every lookup through the
    gateway reads it, so through asyncpg directly (``Database.first``)."""
    return await db.first(_ENTITY, uscc=uscc)


def _without_id(rows) -> list[dict[str, Any]]:
    return [{k: v for k, v in r._mapping.items() if k != "id"} for r in rows]


async def history(session: AsyncSession, uscc: str, *, department: str | None) -> dict[str, list[dict]]:
    """Every change received for an entity, the decisions about it and its notifications: with ``department``,
    only its notifications and, of the decisions naming a department (an acknowledgement, a deadline moved, a
    dispute), its own."""
    changes = (await session.execute(select(entity_history).where(entity_history.c.uscc == uscc)
                                     .order_by(entity_history.c.occurred_at, entity_history.c.id))).all()
    decided = select(decisions).where(decisions.c.uscc == uscc)
    q = select(notifications).where(notifications.c.uscc == uscc)
    if department is not None:
        named = decisions.c.details["department"].astext
        decided = decided.where(or_(named.is_(None), named == department))
        q = q.where(notifications.c.department == department)
    made = (await session.execute(decided.order_by(decisions.c.at, decisions.c.id))).all()
    notes = (await session.execute(q.order_by(notifications.c.issued_at))).all()
    return {"changes": _without_id(changes), "decisions": _without_id(made),
            "notifications": [dict(r._mapping) for r in notes]}


# ------------------------------------------------------------------ the rules' batch jobs
async def dry_run_candidates(session: AsyncSession, *, older_than: int, rules: Sequence[Rule]) -> AsyncIterator[list]:
    """Active, rule-assigned entities that ``rules`` may match or that were last assigned under a version older
    than ``older_than`` (the columns the rules look at, with name and departments), in batches."""
    candidates = or_(entities.c.rule_version.is_(None), entities.c.rule_version < older_than, matched_by_any(rules))
    result = await session.stream(
        select(entities.c.uscc, entities.c.name, entities.c.division_code, entities.c.industry_code,
               entities.c.business_scope, entities.c.licences, entities.c.departments)
        .where(entities.c.status == "active", entities.c.assignment_source != "office", candidates)
        .order_by(entities.c.uscc).execution_options(yield_per=2000))
    async for rows in result.partitions():
        yield rows


async def to_reassess(session: AsyncSession, *, after: str, older_than: int,
                      limit: int) -> list[tuple[Record, str | None]]:
    """The next rule-assigned active entities after USCC ``after`` decided under a version older than
    ``older_than`` (not those a department disputed: they wait for the office), locked, skipping locked ones;
    with the id of the event each record last took in."""
    rows = (await session.execute(
        select(entities).where(entities.c.uscc > after, entities.c.status == "active",
                               entities.c.assignment_source != "office",
                               or_(entities.c.rule_version.is_(None), entities.c.rule_version < older_than),
                               ~and_(entities.c.assignment_state == "adjudication",
                                     func.cardinality(entities.c.departments) > 0))
        .order_by(entities.c.uscc).limit(limit).with_for_update(skip_locked=True))).all()
    return [(record_from_row(r), r.last_event_id) for r in rows]


async def unpublished(session: AsyncSession, *, limit: int) -> list[Record]:
    """Records written without their entity-changed event (bulk import), locked, skipping locked ones."""
    rows = (await session.execute(select(entities).where(entities.c.published_version < entities.c.version)
                                  .limit(limit).with_for_update(skip_locked=True))).all()
    return [record_from_row(r) for r in rows]


async def mark_published(session: AsyncSession, usccs: Sequence[str]) -> None:
    await session.execute(update(entities).where(entities.c.uscc.in_(list(usccs)))
                          .values(published_version=entities.c.version))
