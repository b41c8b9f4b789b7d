"""Joint inspection (汇总取重): the lead department merges the departments' sampled lists and removes
duplicates by USCC, so each entity gets one visit by one joint team covering every department's items
("one visit, many checks", 进一次门、查多项事).

Mutual recognition (结果互认): items an accepted result already covers for an entity in the period are
not inspected again; an entity left with no item is not visited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping


@dataclass(frozen=True)
class DepartmentSample:
    """One department's part before the merge: its plan, its items of the matter, whom it sampled."""

    department: str
    plan_id: str
    items: tuple[str, ...]
    sample: tuple[str, ...]


@dataclass(frozen=True)
class JointTarget:
    """One entity of the joint task: the items each department inspects there."""

    uscc: str
    parts: tuple[tuple[str, tuple[str, ...]], ...]   # (department, items), by department
    recognised: tuple[str, ...] = ()                 # items not inspected: an accepted result covers them

    departments: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "departments", tuple(d for d, _ in self.parts))

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(i for _, items in self.parts for i in items)


def merge(samples: Iterable[DepartmentSample],
          recognised: Mapping[str, Iterable[str]] | None = None) -> list[JointTarget]:
    """One target per USCC over every department's sample, by USCC; each department keeps its items there
    that no accepted result of the period covers yet."""
    done_of = {u: frozenset(items) for u, items in (recognised or {}).items()}
    # Departments in code order, each with its items sorted: a target's parts come out in order.
    by_department: dict[str, set[str]] = {}
    members: dict[str, set[str]] = {}
    for s in samples:
        by_department.setdefault(s.department, set()).update(s.items)
        members.setdefault(s.department, set()).update(s.sample)
    parts_of: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for dept in sorted(by_department):
        part = (dept, tuple(sorted(by_department[dept])))
        for uscc in members[dept]:
            got = parts_of.get(uscc)
            if got is None:
                parts_of[uscc] = [part]
            else:
                got.append(part)
    out = []
    for uscc in sorted(parts_of):
        parts = parts_of[uscc]
        done = done_of.get(uscc)
        if not done:
            out.append(JointTarget(uscc, tuple(parts)))
            continue
        kept = tuple((d, tuple(i for i in items if i not in done)) for d, items in parts)
        kept = tuple(p for p in kept if p[1])
        skipped = tuple(sorted(done & {i for _, items in parts for i in items}))
        if kept:
            out.append(JointTarget(uscc, kept, skipped))
    return out


def overlap(samples: Iterable[DepartmentSample]) -> int:
    """Visits saved by the merge: the sampled (department, entity) pairs minus the entities visited."""
    pairs, entities = 0, set()
    for s in samples:
        pairs += len(s.sample)
        entities.update(s.sample)
    return pairs - len(entities)
