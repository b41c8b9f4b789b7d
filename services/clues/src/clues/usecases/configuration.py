"""The office's configuration: keyword routing rules and handling limits per channel, urgency and category (data in
the database, editable through the API), and the cache the use cases read them through (the caller
invalidates it once a change is committed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import departments
from jsp_common.events.clues import Channel
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import repository as repo
from ..domain.routing import Rule


@dataclass(frozen=True)
class Configuration:
    """The routing rules and deadline policies in force (read through ``Deps.config``, a cache)."""

    rules: list[Rule]
    policies: dict[tuple[str, str, str], int]  # (channel or "*", urgency, category or "*") -> working days


async def load_configuration(session: AsyncSession) -> Configuration:
    return Configuration(rules=await repo.load_rules(session), policies=await repo.load_policies(session))


def _check_agencies(*codes: str) -> None:
    for c in codes:
        try:
            departments.agency(c)
        except departments.UnknownDepartment as exc:
            raise Problem(422, str(exc), errors=[{"field": "lead_agency/co_agencies", "reason": str(exc)}]) from None


async def list_rules(session: AsyncSession) -> list[dict]:
    return await repo.list_rules(session)


async def add_rule(tx: Tx, actor: Principal, values: dict[str, Any]) -> dict:
    _check_agencies(values["lead_agency"], *values.get("co_agencies", []))
    return await repo.add_rule(tx.session, **values, updated_by=actor.subject)


async def change_rule(tx: Tx, actor: Principal, rule_id: int, values: dict[str, Any]) -> dict:
    """Change or disable a rule (only the fields given)."""
    _check_agencies(*([values["lead_agency"]] if "lead_agency" in values else []), *values.get("co_agencies", []))
    row = await repo.update_rule(tx.session, rule_id, **values, updated_by=actor.subject)
    if row is None:
        raise Problem(404, f"no routing rule {rule_id}")
    return row


async def list_policies(session: AsyncSession) -> list[dict]:
    return await repo.list_policies(session)


async def put_policy(tx: Tx, actor: Principal, *, channel: str, urgency: str, workdays: int,
                     category: str = "*") -> None:
    """The handling limit for a channel (or ``*``, every channel), urgency and category (the order type as the
    clues' senders name it, or ``*``, every category: the general policy)."""
    if channel != "*" and channel not in {c.value for c in Channel}:
        raise Problem(422, f"unknown channel {channel!r}", errors=[{"field": "channel", "reason": "unknown"}])
    await repo.put_policy(tx.session, channel, urgency, category.strip() or "*", workdays, actor.subject)
