"""Before a rule set is published: work out its consequence (the dry-run) and refuse a drastic change
that the office has not confirmed (domain/publication.py decides which)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common.problems import Problem

from ..adapters import directory_counts, rules as rule_sets
from ..deps import Deps
from ..domain.publication import Consequence, Thresholds, confirmation_phrase, reasons
from ..domain.rules import CompiledRules, Rule
from .rules import dry_run


async def assess(reg: Deps, session: AsyncSession, rules: list[Rule], *,
                 limit: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the dry-run of ``rules`` against the version in force, what publishing them needs: whether a
    confirmation is required, why, the consequence and the phrase that confirms it)."""
    current = await reg.rules.get(session)
    proposed = CompiledRules(0, rules)
    run = await dry_run(session, current, proposed, limit=limit)
    c = Consequence(rules_in_force=len(current.rules), rules_after=len(proposed.rules),
                    directory=await directory_counts.rule_assigned_active(session),
                    moved=run["moved"], to_adjudication=run["to_adjudication"])
    s = reg.settings
    why = reasons(c, Thresholds(keep_share=s.publish_confirm_keep_share, move_share=s.publish_confirm_move_share))
    return run, {"required": bool(why), "reasons": why, "consequence": c.as_dict(), "confirm": confirmation_phrase(c)}


async def check_confirmed(reg: Deps, session: AsyncSession, rules: list[Rule],
                          confirm: str | None) -> None:
    """Raise 409 (with the consequence and the phrase that confirms it) when the change is drastic and
    ``confirm`` is not that phrase. Judged against the version in force read afresh under the publications'
    lock: a version published meanwhile (by another user, or seen by another replica) is the one replaced."""
    await rule_sets.lock(session)
    reg.rules.invalidate()
    _, needs = await assess(reg, session, rules)
    if needs["required"] and confirm != needs["confirm"]:
        raise Problem(409, "this rule set needs an explicit confirmation: " + "; ".join(needs["reasons"])
                      + f". To publish it anyway, send the same request with \"confirm\": \"{needs['confirm']}\"",
                      title="Confirmation required", consequence=needs["consequence"], reasons=needs["reasons"],
                      confirm=needs["confirm"])
