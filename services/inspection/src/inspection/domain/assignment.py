"""Drawing the inspectors of a joint task (双随机: random inspectors for random targets).

Rules: at least ``min_per_entity`` inspectors per entity (two), at least ``per_department`` from every
department whose items are inspected there (the lead department, else the first, supplies any extra);
only active inspectors whose enforcement certificate is valid through the period; an inspector who
declared a conflict with an entity (回避) is never drawn for it; no inspector gets more than
``cap_per_inspector`` targets in the period (targets already held in other tasks count). When the pool
cannot satisfy the rules the draw is refused with the reason: it never quietly draws fewer.

Order, so that anyone can replay it: targets by their rank ``SHA-256(seed || uscc)``; for each target the
candidates of a department by ``SHA-256(seed || uscc + "/" + inspector_id)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping, Sequence

from . import draw
from .merge import JointTarget


@dataclass(frozen=True)
class Inspector:
    id: str
    department: str
    certificate_no: str
    certificate_valid_until: date | None
    active: bool = True
    conflicts: frozenset[str] = frozenset()   # USCCs the inspector must not inspect (回避)


@dataclass(frozen=True)
class Rules:
    min_per_entity: int = 2
    per_department: int = 1
    cap_per_inspector: int = 20


class DrawRefused(Exception):
    """The pool cannot satisfy the rules; ``reason`` says for which entity and department and why."""

    def __init__(self, reason: str, **facts):
        super().__init__(reason)
        self.reason, self.facts = reason, facts


def eligible(inspectors: Sequence[Inspector], period_end: date) -> list[Inspector]:
    """Active inspectors whose certificate is valid through the period's last day, by id."""
    return sorted((i for i in inspectors if i.active and i.certificate_valid_until is not None
                   and i.certificate_valid_until >= period_end), key=lambda i: i.id)


def needs(target: JointTarget, lead: str, rules: Rules) -> dict[str, int]:
    """How many inspectors each department of ``target`` supplies."""
    deps = list(target.departments)
    need = {d: rules.per_department for d in deps}
    extra = rules.min_per_entity - sum(need.values())
    if extra > 0:
        need[lead if lead in need else deps[0]] += extra
    return need


def assign(seed: str, targets: Sequence[JointTarget], pools: Mapping[str, Sequence[Inspector]], *,
           lead: str, rules: Rules, prior_load: Mapping[str, int] | None = None) -> dict[str, list[str]]:
    """Inspector ids per USCC. ``pools``: each department's eligible inspectors; ``prior_load``: targets
    each inspector already holds in the period. Raises :class:`DrawRefused`."""
    load = dict(prior_load or {})
    out: dict[str, list[str]] = {}
    for t in sorted(targets, key=lambda t: (draw.rank(seed, t.uscc), t.uscc)):
        chosen: list[str] = []
        for dept, n in needs(t, lead, rules).items():
            pool = pools.get(dept, ())
            conflicted = [i for i in pool if t.uscc in i.conflicts]
            capped = [i for i in pool if t.uscc not in i.conflicts and load.get(i.id, 0) >= rules.cap_per_inspector]
            free = [i.id for i in pool if t.uscc not in i.conflicts and load.get(i.id, 0) < rules.cap_per_inspector
                    and i.id not in chosen]
            if len(free) < n:
                raise DrawRefused(
                    f"entity {t.uscc} needs {n} inspector(s) of {dept} but only {len(free)} can go: "
                    f"{len(pool)} eligible (active, certificate valid through the period), {len(conflicted)} "
                    f"conflicted (回避), {len(capped)} at the cap of {rules.cap_per_inspector} targets per period",
                    uscc=t.uscc, department=dept, needed=n, available=len(free), pool=len(pool),
                    conflicted=len(conflicted), at_cap=len(capped))
            picked = sorted(free, key=lambda i: (draw.rank(seed, f"{t.uscc}/{i}"), i))[:n]
            for i in picked:
                load[i] = load.get(i, 0) + 1
            chosen.extend(picked)
        out[t.uscc] = chosen
    return out
