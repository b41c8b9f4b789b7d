"""Joint inspection (汇总取重): the lead department merges the departments' sampled lists and removes
duplicates by USCC, so each entity gets one visit by one joint team covering every department's items
("one visit, many checks", 进一次门、查多项事).

Mutual recognition (结果互认): items already inspected at an entity in the period (``recognition.py`` says
which results count) are not inspected again; an entity left with no item is not visited.
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


@dataclass(slots=True)
class JointTarget:
    """One entity of the joint task: the items each department inspects there."""

    uscc: str
    parts: tuple[tuple[str, tuple[str, ...]], ...]   # (department, items), by department
    recognised: tuple[str, ...] = ()                 # items not inspected: an accepted result covers them
    # The parts' departments (computed from them when not given: the merge shares one tuple per combination).
    departments: tuple[str, ...] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.departments is None:
            self.departments = tuple(d for d, _ in self.parts)

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(i for _, items in self.parts for i in items)


def merge(samples: Iterable[DepartmentSample],
          recognised: Mapping[str, Iterable[str]] | None = None) -> list[JointTarget]:
    """One target per USCC over every department's sample, by USCC; each department keeps its items there
    that no accepted result of the period covers yet."""
    done_of = {u: frozenset(items) for u, items in (recognised or {}).items()}
    items_of: dict[str, set[str]] = {}
    sampled: dict[str, list[Iterable[str]]] = {}
    for s in samples:
        items_of.setdefault(s.department, set()).update(s.items)
        sampled.setdefault(s.department, []).append(s.sample)
    # Departments in code order, each with its items sorted; an entity's departments as the bits of a number,
    # so the parts of every entity sampled by the same departments are one shared tuple.
    part = [(d, tuple(sorted(items_of[d]))) for d in sorted(items_of)]
    mask_of: dict[str, int] = {}
    get = mask_of.get
    for bit, (dept, _) in enumerate(part):
        b = 1 << bit
        for sample in sampled[dept]:
            for uscc in sample:
                mask_of[uscc] = get(uscc, 0) | b
    combos: dict[int, tuple[tuple, tuple[str, ...]]] = {}
    out = []
    for uscc in sorted(mask_of):
        m = mask_of[uscc]
        combo = combos.get(m)
        if combo is None:
            parts = tuple(p for k, p in enumerate(part) if m >> k & 1)
            combo = combos[m] = (parts, tuple(d for d, _ in parts))
        done = done_of.get(uscc)
        if not done:
            out.append(JointTarget(uscc, combo[0], (), combo[1]))
            continue
        kept = tuple((d, tuple(i for i in items if i not in done)) for d, items in combo[0])
        kept = tuple(p for p in kept if p[1])
        skipped = tuple(sorted(done & {i for _, items in combo[0] for i in items}))
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
