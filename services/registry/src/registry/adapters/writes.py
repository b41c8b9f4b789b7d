"""Set-wise writes: the rows of one transaction collected by name, then written with one statement per table.

Multi-row statements over arrays (``unnest``): one small statement however many rows, compiled once per table
and set of columns. The columns and their types come from the table definitions (``tables.py``): text-array
columns travel as one string joined by U+001F (arrays of arrays cannot be unnested), JSONB as JSON text."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Sequence

from sqlalchemy import Table, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.directory import RECORD_FIELDS, Record
from .tables import decisions, entities, entity_history, notifications

_SEP = "\x1f"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _wire(table: Table, name: str) -> Callable[[Any], Any] | None:
    """How a value travels in its column's array (None: as it is)."""
    kind = table.c[name].type
    if isinstance(kind, JSONB):
        return _json
    if isinstance(kind, ARRAY):
        return _SEP.join
    return None


def _select(table: Table, name: str) -> str:
    kind = table.c[name].type
    if isinstance(kind, JSONB):
        return f"u.{name}::jsonb"
    if isinstance(kind, ARRAY):
        return f"string_to_array(u.{name}, chr(31))"
    return f"u.{name}"


@lru_cache(maxsize=None)
def _plan(table: Table, names: tuple[str, ...]) -> tuple[Any, list[tuple[str, Callable[[Any], Any] | None]]]:
    """The statement and each column's conversion."""
    return _unnest_insert(table, names), [(c, _wire(table, c)) for c in names]


def _unnest_insert(table: Table, names: tuple[str, ...]):
    """``INSERT INTO table (names) SELECT ... FROM unnest(:name, ...)``; ``entities`` is upserted by USCC."""
    suffix = ""
    if table is entities:
        suffix = "ON CONFLICT (uscc) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c != "uscc")
    wire = {c: Text if isinstance(table.c[c].type, (JSONB, ARRAY)) else table.c[c].type for c in names}
    return text(f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(_select(table, c) for c in names)} "
                f"FROM unnest({', '.join(':' + c for c in names)}) AS u({', '.join(names)}) {suffix}"
                ).bindparams(*(bindparam(c, type_=ARRAY(t)) for c, t in wire.items()))


# An entity's row: the record's fields, and the columns the registry keeps beside them (``created_at`` stays).
ENTITY_ROW = (*RECORD_FIELDS, "city_code", "published_version", "last_event_id", "updated_at")


class Writes:
    """Rows of one transaction collected in order and written with one statement per table (:meth:`flush`).

    A record saved twice keeps its last state (several events of one entity in a batch)."""

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.decisions: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []

    def add_history(self, *, uscc: str, event_id: str, event_type: str, sender: str | None, occurred_at: datetime,
                    outcome: str, data: dict, now: datetime) -> None:
        self.history.append(dict(uscc=uscc, event_id=event_id, event_type=event_type, sender=sender,
                                 occurred_at=occurred_at, outcome=outcome, data=data, received_at=now))

    def save_record(self, record: Record, *, event_id: str | None, now: datetime) -> None:
        extra = dict(city_code=record.city_code, published_version=record.version, last_event_id=event_id,
                     updated_at=now)
        self.records[record.uscc] = {c: extra[c] if c in extra else getattr(record, c) for c in ENTITY_ROW}

    def add_decision(self, *, uscc: str | None, action: str, actor: str, now: datetime,
                     details: dict | None = None) -> None:
        self.decisions.append(dict(uscc=uscc, action=action, actor=actor, at=now, details=details or {}))

    def add_notification(self, *, id: str, uscc: str, department: str, kind: str, cause: str,
                         matched_rules: Sequence[str], domains: Sequence[str], issued_at: datetime,
                         acknowledge_by: datetime) -> None:
        self.notifications.append(dict(id=id, uscc=uscc, department=department, kind=kind, cause=cause,
                                       matched_rules=matched_rules, domains=domains, issued_at=issued_at,
                                       acknowledge_by=acknowledge_by, next_reminder_at=acknowledge_by))

    async def flush(self, session: AsyncSession) -> None:
        for table, rows in ((entity_history, self.history), (entities, list(self.records.values())),
                            (decisions, self.decisions), (notifications, self.notifications)):
            if rows:
                stmt, columns = _plan(table, tuple(rows[0]))
                await session.execute(stmt, {c: [conv(r[c]) for r in rows] if conv else [r[c] for r in rows]
                                             for c, conv in columns})
        self.history, self.records, self.decisions, self.notifications = [], {}, [], []
