"""Reading and writing the registry's tables (keyword-only functions taking the session)."""

from __future__ import annotations

import json
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import (Date, DateTime, Integer, Text, and_, any_, bindparam, cast, false, func, insert, or_, select,
                        text,
                        update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import divisions, industries

from ..domain.directory import Record
from ..domain.rules import Rule
from .tables import adjudication_cases, decisions, entities, notifications, rule_sets

_RECORD_FIELDS = ("uscc", "name", "entity_type", "legal_representative", "address", "division_code",
                  "industry_code", "business_scope", "licences", "status", "established_on", "approved_on",
                  "closed_on", "registration_authority", "assignment_state", "assignment_source", "rule_version",
                  "version", "last_changed_at")


def record_from_row(row) -> Record:
    m = row._mapping
    return Record(**{k: m[k] for k in _RECORD_FIELDS}, departments=tuple(m["departments"]),
                  domains=tuple(m["domains"]), matched_rules=tuple(m["matched_rules"]))


async def load_record(session: AsyncSession, uscc: str, *, lock: bool = False) -> Record | None:
    q = select(entities).where(entities.c.uscc == uscc)
    if lock:
        q = q.with_for_update()
    row = (await session.execute(q)).first()
    return record_from_row(row) if row else None


def _uscc_in(name: str = "ids"):
    return entities.c.uscc == any_(bindparam(name, type_=ARRAY(Text)))


async def stamp_rule_version(session: AsyncSession, usccs: Sequence[str], version: int) -> None:
    """Mark entities as decided under rule set ``version`` (their departments stay as they are)."""
    if usccs:
        await session.execute(update(entities).where(_uscc_in()).values(rule_version=version), {"ids": list(usccs)})


async def load_records(session: AsyncSession, usccs: Sequence[str], *, lock: bool = False) -> dict[str, Record]:
    """The current records of several entities at once (locked in USCC order, so two writers cannot deadlock)."""
    q = select(entities).where(_uscc_in()).order_by(entities.c.uscc)
    if lock:
        q = q.with_for_update()
    rows = (await session.execute(q, {"ids": sorted(set(usccs))})).all()
    return {row.uscc: record_from_row(row) for row in rows}


def matched_by_any(rules: Sequence[Rule]):
    """The entities one of ``rules`` may match, by industry, licence type or scope keyword: a superset that
    SQL can narrow cheaply (divisions and negated scope clauses are left to the rules themselves)."""
    conds = []
    for r in rules:
        conds += [_starts_with(entities.c.industry_code, p) for p in industries.digit_prefixes(r.match.industries)]
        conds += [_contains(cast(entities.c.licences, Text), t) for t in r.match.licence_types]
        conds += [_contains(entities.c.business_scope, k) for k in r.match.scope_keywords]
    return or_(false(), *conds)


def _like_literal(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (backslash, PostgreSQL's default escape: the plain ``LIKE``
    form, which the name's trigram index serves)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column, text: str):
    return column.like(f"%{_like_literal(text)}%")


def _starts_with(column, text: str):
    return column.like(f"{_like_literal(text)}%")


def overdue_condition(now: datetime):
    """The notifications that are overdue at ``now`` (``domain.acknowledgement.is_overdue`` in SQL)."""
    return and_(notifications.c.acknowledged_at.is_(None),
                or_(notifications.c.overdue_since.is_not(None), notifications.c.acknowledge_by < now))


# ------------------------------------------------------------------ set-wise writes
# Multi-row statements over arrays (``unnest``): one small statement however many rows, compiled once.
# Text-array columns travel as one string joined by U+001F (arrays of arrays cannot be unnested).
_SEP = "\x1f"


def _unnest_insert(table: str, columns: dict[str, Any], suffix: str = ""):
    names = list(columns)
    return text(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(map(_cast, names))} "
                f"FROM unnest({', '.join(':' + n for n in names)}) AS u({', '.join(names)}) {suffix}"
                ).bindparams(*(bindparam(c, type_=ARRAY(t)) for c, t in columns.items()))


_JSON_COLUMNS = {"licences", "data", "details"}
_LIST_COLUMNS = {"departments", "domains", "matched_rules"}


def _cast(column: str) -> str:
    if column in _JSON_COLUMNS:
        return f"u.{column}::jsonb"
    if column in _LIST_COLUMNS:
        return f"string_to_array(u.{column}, chr(31))"
    return f"u.{column}"


_ENTITY_COLUMNS = dict(
    uscc=Text, name=Text, entity_type=Text, legal_representative=Text, address=Text, division_code=Text,
    city_code=Text, industry_code=Text, business_scope=Text, licences=Text, status=Text, established_on=Date,
    approved_on=Date, closed_on=Date, registration_authority=Text, departments=Text, domains=Text, matched_rules=Text,
    assignment_state=Text, assignment_source=Text, rule_version=Integer, version=Integer, published_version=Integer,
    last_changed_at=DateTime(timezone=True), last_event_id=Text, updated_at=DateTime(timezone=True))
_UPSERT_ENTITIES = _unnest_insert(
    "entities", _ENTITY_COLUMNS,
    "ON CONFLICT (uscc) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _ENTITY_COLUMNS if c != "uscc"))
_HISTORY_COLUMNS = dict(uscc=Text, event_id=Text, event_type=Text, sender=Text, occurred_at=DateTime(timezone=True),
                        outcome=Text, data=Text, received_at=DateTime(timezone=True))
_INSERT_HISTORY = _unnest_insert("entity_history", _HISTORY_COLUMNS)
_DECISION_COLUMNS = dict(uscc=Text, action=Text, actor=Text, at=DateTime(timezone=True), details=Text)
_INSERT_DECISIONS = _unnest_insert("decisions", _DECISION_COLUMNS)
_NOTIFICATION_COLUMNS = dict(id=Text, uscc=Text, department=Text, kind=Text, cause=Text, matched_rules=Text,
                             domains=Text, issued_at=DateTime(timezone=True), acknowledge_by=DateTime(timezone=True),
                             next_reminder_at=DateTime(timezone=True))
_INSERT_NOTIFICATIONS = _unnest_insert("notifications", _NOTIFICATION_COLUMNS)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class Writes:
    """Rows of one transaction collected in order and written with one statement per table (:meth:`flush`).

    A record saved twice keeps its last state (several events of one entity in a batch)."""

    def __init__(self) -> None:
        self.history: list[tuple] = []
        self.records: dict[str, tuple] = {}
        self.decisions: list[tuple] = []
        self.notifications: list[tuple] = []

    def add_history(self, *, uscc: str, event_id: str, event_type: str, sender: str | None, occurred_at: datetime,
                    outcome: str, data: dict, now: datetime) -> None:
        self.history.append((uscc, event_id, event_type, sender, occurred_at, outcome, _json(data), now))

    def save_record(self, record: Record, *, event_id: str | None, now: datetime) -> None:
        r = record
        self.records[r.uscc] = (
            r.uscc, r.name, r.entity_type, r.legal_representative, r.address, r.division_code, r.city_code,
            r.industry_code, r.business_scope, _json(r.licences), r.status, r.established_on, r.approved_on,
            r.closed_on, r.registration_authority, _SEP.join(r.departments), _SEP.join(r.domains),
            _SEP.join(r.matched_rules), r.assignment_state, r.assignment_source, r.rule_version, r.version,
            r.version, r.last_changed_at, event_id, now)

    def add_decision(self, *, uscc: str | None, action: str, actor: str, now: datetime,
                     details: dict | None = None) -> None:
        self.decisions.append((uscc, action, actor, now, _json(details or {})))

    def add_notification(self, *, id: str, uscc: str, department: str, kind: str, cause: str,
                         matched_rules: Sequence[str], domains: Sequence[str], issued_at: datetime,
                         acknowledge_by: datetime) -> None:
        self.notifications.append((id, uscc, department, kind, cause, _SEP.join(matched_rules), _SEP.join(domains),
                                   issued_at, acknowledge_by, acknowledge_by))

    async def flush(self, session: AsyncSession) -> None:
        for stmt, columns, rows in ((_INSERT_HISTORY, _HISTORY_COLUMNS, self.history),
                                    (_UPSERT_ENTITIES, _ENTITY_COLUMNS, list(self.records.values())),
                                    (_INSERT_DECISIONS, _DECISION_COLUMNS, self.decisions),
                                    (_INSERT_NOTIFICATIONS, _NOTIFICATION_COLUMNS, self.notifications)):
            if rows:
                await session.execute(stmt, dict(zip(columns, map(list, zip(*rows)))))
        self.history, self.records, self.decisions, self.notifications = [], {}, [], []


async def add_decision(session: AsyncSession, *, uscc: str | None, action: str, actor: str, now: datetime,
                       details: dict | None = None) -> None:
    await session.execute(insert(decisions).values(uscc=uscc, action=action, actor=actor, at=now,
                                                   details=details or {}))


async def open_case(session: AsyncSession, *, case_id: str, uscc: str, reason: str, candidates: Sequence[str],
                    detail: str | None, opened_by: str, now: datetime) -> str:
    """Open an adjudication case unless one is open for the entity; returns the open case's id."""
    stmt = pg_insert(adjudication_cases).values(
        id=case_id, uscc=uscc, reason=reason, status="open", candidate_departments=list(candidates),
        detail=detail, opened_at=now, opened_by=opened_by,
    ).on_conflict_do_nothing(index_elements=[adjudication_cases.c.uscc],
                             index_where=text("status = 'open'")).returning(adjudication_cases.c.id)
    got = (await session.execute(stmt)).scalar()
    if got:
        return got
    return (await session.execute(select(adjudication_cases.c.id).where(
        adjudication_cases.c.uscc == uscc, adjudication_cases.c.status == "open"))).scalar_one()


async def withdraw_open_case(session: AsyncSession, *, uscc: str, actor: str, note: str, now: datetime) -> str | None:
    return (await session.execute(
        update(adjudication_cases).where(adjudication_cases.c.uscc == uscc, adjudication_cases.c.status == "open")
        .values(status="withdrawn", decided_at=now, decided_by=actor, note=note)
        .returning(adjudication_cases.c.id))).scalar()


# ------------------------------------------------------------------ rule sets
def starter_rules(path: Path | None) -> dict:
    if path:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    return json.loads(files("registry").joinpath("data", "starter_rules.json").read_text(encoding="utf-8"))


async def current_rules(session: AsyncSession) -> tuple[int, list[dict]] | None:
    row = (await session.execute(select(rule_sets.c.version, rule_sets.c.rules)
                                 .order_by(rule_sets.c.version.desc()).limit(1))).first()
    return (row.version, row.rules) if row else None


async def seed_rules(session: AsyncSession, starter: dict, now: datetime) -> tuple[int, list[dict]]:
    """Version 1 from the starter set, if there is no rule set yet (safe to call concurrently)."""
    await session.execute(pg_insert(rule_sets).values(
        version=1, rules=starter["rules"], note=starter.get("note", "starter rule set"), created_by="system",
        created_at=now).on_conflict_do_nothing())
    got = await current_rules(session)
    assert got is not None
    return got


async def add_rule_set(session: AsyncSession, *, rules: list[dict], note: str | None, actor: str, now: datetime,
                       reassess: bool) -> int:
    await session.execute(text("LOCK TABLE rule_sets IN SHARE ROW EXCLUSIVE MODE"))
    latest = (await session.execute(select(func.max(rule_sets.c.version)))).scalar() or 0
    version = latest + 1
    await session.execute(insert(rule_sets).values(version=version, rules=rules, note=note, created_by=actor,
                                                   created_at=now, reassess="pending" if reassess else "none"))
    return version


# ------------------------------------------------------------------ queries
def entity_filters(*, name: str | None = None, division: str | None = None, industry: str | None = None,
                   department: str | None = None, status: str | None = None,
                   assignment_state: str | None = None) -> list:
    where = []
    if name:
        where.append(_contains(entities.c.name, name))
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


async def search_entities(session: AsyncSession, *, where: list, limit: int, offset: int) -> tuple[int, list]:
    cond = and_(*where) if where else text("true")
    total = (await session.execute(select(func.count()).select_from(entities).where(cond))).scalar_one()
    rows = (await session.execute(select(entities).where(cond).order_by(entities.c.uscc)
                                  .limit(limit).offset(offset))).all()
    return total, rows
