"""Responsibility rules (监管职责规则) as data: the set in force, publishing a new version, and the dry-run
of a proposed set over the directory."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import adjudication as cases
from ..adapters import entities as records
from ..adapters import rules as rule_sets
from ..deps import Deps
from ..domain.directory import facts_of
from ..domain.rules import CompiledRules, changed_rules


async def rule_set_in_force(session: AsyncSession, starter: Callable[[], dict]) -> tuple[int, list[dict]]:
    """The newest rule set (version, rules); the starter set becomes version 1 when there is none."""
    return await rule_sets.current_rules(session) or await rule_sets.seed_rules(session, starter(), clock.now())


def compiled_rules(starter: dict) -> Callable[[AsyncSession], Awaitable[CompiledRules]]:
    """The loader of ``Deps.rules``: the rule set in force, compiled again only when its version changed."""
    last: CompiledRules | None = None

    async def load(session: AsyncSession) -> CompiledRules:
        nonlocal last
        version, rules = await rule_set_in_force(session, lambda: starter)
        if last is None or last.version != version:
            last = CompiledRules.from_json(version, rules)
        return last
    return load


async def current(deps: Deps, session: AsyncSession) -> dict[str, Any]:
    compiled = await deps.rules.get(session)
    got = await rule_sets.rule_set(session, compiled.version)
    assert got is not None
    return got


async def versions(session: AsyncSession) -> list[dict[str, Any]]:
    return await rule_sets.versions(session)


async def version(session: AsyncSession, number: int) -> dict[str, Any]:
    got = await rule_sets.rule_set(session, number)
    if got is None:
        raise Problem(404, f"no rule set version {number}")
    return got


async def publish(deps: Deps, tx: Tx, rules: list[dict], note: str | None, reassess: bool,
                  principal: Principal) -> int:
    now = clock.now()
    version = await rule_sets.add_rule_set(tx.session, rules=rules, note=note, actor=principal.subject, now=now,
                                           reassess=reassess)
    await cases.add_decision(tx.session, uscc=None, action="rules_published", actor=principal.subject, now=now,
                             details={"version": version, "note": note, "reassess": reassess, "rules": len(rules)})
    deps.rules.invalidate()
    return version


async def dry_run(session: AsyncSession, current: CompiledRules, proposed: CompiledRules, *, limit: int) -> dict:
    """Which entities would change responsible departments under ``proposed`` (active, rule-assigned ones).

    Only candidates are evaluated: entities that a rule the two sets do not share may match, and entities
    last assigned under an older version than ``current`` (whose departments may be out of date anyway).
    ``examined`` counts the candidates."""
    moved, counts = [], {"examined": 0, "moved": 0, "to_adjudication": 0, "from_adjudication": 0}
    async for rows in records.dry_run_candidates(session, older_than=current.version,
                                                 rules=changed_rules(current, proposed)):
        for r in rows:
            counts["examined"] += 1
            new = proposed.evaluate(facts_of(r.division_code, r.industry_code, r.business_scope, r.licences))
            if set(new.departments) == set(r.departments):
                continue
            counts["moved"] += 1
            if new.empty:
                counts["to_adjudication"] += 1
            if not r.departments:
                counts["from_adjudication"] += 1
            if len(moved) < limit:
                moved.append({"uscc": r.uscc, "name": r.name, "departments_now": list(r.departments),
                              "departments_after": list(new.departments), "rules_after": list(new.matched_rules)})
    return {"current_version": current.version, **counts, "entities": moved}
