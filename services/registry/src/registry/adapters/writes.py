"""Set-wise writes: the rows of one transaction collected by name, then written with one statement per table.

Multi-row statements over arrays (``jsp_common.unnest``): one small statement however many rows, compiled once per
table and set of columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.unnest import UnnestInsert, unnest_insert

from ..domain.directory import RECORD_FIELDS, Record
from .notifications import supersede_earlier
from .tables import decisions, entities, entity_history, notifications


def _plan(table: Table, names: tuple[str, ...]) -> UnnestInsert:
    """The statement of ``table``'s rows (``entities`` is upserted by USCC)."""
    suffix = ""
    if table is entities:
        suffix = "ON CONFLICT (uscc) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c != "uscc")
    return unnest_insert(table, names, suffix=suffix)


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
                         acknowledge_by: datetime, acknowledge_within_workdays: int,
                         acknowledge_by_provisional: bool) -> None:
        self.notifications.append(dict(id=id, uscc=uscc, department=department, kind=kind, cause=cause,
                                       matched_rules=matched_rules, domains=domains, issued_at=issued_at,
                                       acknowledge_by=acknowledge_by, next_reminder_at=acknowledge_by,
                                       acknowledge_within_workdays=acknowledge_within_workdays,
                                       acknowledge_by_provisional=acknowledge_by_provisional))

    async def flush(self, session: AsyncSession) -> None:
        for table, rows in ((entity_history, self.history), (entities, list(self.records.values())),
                            (decisions, self.decisions), (notifications, self.notifications)):
            if rows:
                plan = _plan(table, tuple(rows[0]))
                await plan.run(session, rows)
        if self.notifications:
            await supersede_earlier(session, self.notifications)
        self.history, self.records, self.decisions, self.notifications = [], {}, [], []
