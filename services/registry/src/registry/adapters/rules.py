"""Versioned responsibility rule sets (the highest version is in force)."""

from __future__ import annotations

import json
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import rule_sets


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


async def lock(session: AsyncSession) -> None:
    """Publications one at a time, until the transaction ends (reading the rule sets is not held up)."""
    await session.execute(text("LOCK TABLE rule_sets IN SHARE ROW EXCLUSIVE MODE"))


async def add_rule_set(session: AsyncSession, *, rules: list[dict], note: str | None, actor: str, now: datetime,
                       reassess: bool) -> int:
    await lock(session)
    latest = (await session.execute(select(func.max(rule_sets.c.version)))).scalar() or 0
    version = latest + 1
    await session.execute(insert(rule_sets).values(version=version, rules=rules, note=note, created_by=actor,
                                                   created_at=now, reassess="pending" if reassess else "none"))
    return version


async def rule_set(session: AsyncSession, version: int) -> dict[str, Any] | None:
    row = (await session.execute(select(rule_sets).where(rule_sets.c.version == version))).first()
    return dict(row._mapping) if row else None


async def versions(session: AsyncSession) -> list[dict[str, Any]]:
    """Every version, newest first, without the rules."""
    rows = (await session.execute(select(rule_sets.c.version, rule_sets.c.note, rule_sets.c.created_by,
                                         rule_sets.c.created_at, rule_sets.c.reassess)
                                  .order_by(rule_sets.c.version.desc()))).all()
    return [dict(r._mapping) for r in rows]


async def pending_reassessment(session: AsyncSession) -> int | None:
    """The newest version published with a re-assessment still to do."""
    return (await session.execute(select(rule_sets.c.version).where(rule_sets.c.reassess == "pending")
                                  .order_by(rule_sets.c.version.desc()).limit(1))).scalar()


async def reassessment_done(session: AsyncSession, up_to: int) -> None:
    await session.execute(update(rule_sets).where(rule_sets.c.version <= up_to, rule_sets.c.reassess == "pending")
                          .values(reassess="done"))
