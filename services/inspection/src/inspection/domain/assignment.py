"""Drawing the inspectors of a joint task (双随机: random inspectors for random targets).

Rules: at least ``min_per_entity`` inspectors per entity (two), at least ``per_department`` from every
department whose items are inspected there (the lead department, else the first, supplies any extra);
only active inspectors whose enforcement certificate is valid through the period; an inspector who
declared a conflict with an entity (回避) is never drawn for it; no inspector gets more than
``cap_per_inspector`` targets in the period (targets already held in other tasks count). When the pool
cannot satisfy the rules the draw is refused with the reason: it never quietly draws fewer.

Order, so that anyone can replay it: targets by their rank ``SHA-256(seed || uscc)``. Each department's
inspectors queue by ``SHA-256(seed || inspector_id)``; for a target the department's queue is walked from
its head: an inspector who can go is taken and moves to the back, one who cannot go to this entity
(conflicted, already in its team) also moves to the back, one at the cap leaves the queue. A queue walked
once without enough inspectors refuses the draw. (Targets cost the same whatever the size of the pools, and
loads stay even.)
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import date
from itertools import cycle
from operator import call
from typing import Callable, Mapping, Sequence

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


# What a refusal states that any implementation of the published algorithm reproduces (docs/inspection-draw.md):
# the first target (in rank order) and department (in code order) whose queue, walked once, held too few inspectors
# who could go, how many it needed and how many it found. The reason's wording and its other counts are for people.
REFUSAL_FIELDS = ("uscc", "department", "needed", "available")


class DrawRefused(Exception):
    """The pool cannot satisfy the rules; ``reason`` says for which entity and department and why, ``facts`` the
    same as values (:data:`REFUSAL_FIELDS` and the pool's counts)."""

    def __init__(self, reason: str, **facts):
        super().__init__(reason)
        self.reason, self.facts = reason, facts

    @property
    def refusal(self) -> dict[str, str | int]:
        """What a replay of the draw must reproduce of this refusal."""
        return {k: self.facts[k] for k in REFUSAL_FIELDS}


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


def _refusal(uscc: str, dept: str, n: int, took: int, pool: Sequence[Inspector], load: Mapping[str, int],
             cap: int) -> DrawRefused:
    conflicted = sum(1 for i in pool if uscc in i.conflicts)
    at_cap = sum(1 for i in pool if load.get(i.id, 0) >= cap)
    return DrawRefused(
        f"entity {uscc} needs {n} inspector(s) of {dept} but only {took} can go: {len(pool)} eligible (active, "
        f"certificate valid through the period), {conflicted} conflicted (回避), {at_cap} at the cap of {cap} "
        "targets per period", uscc=uscc, department=dept, needed=n, available=took, pool=len(pool),
        conflicted=conflicted, at_cap=at_cap)


def queue_order(seed: str, pool: Sequence[Inspector]) -> list[str]:
    """A department's inspectors in the order they queue: by ``SHA-256(seed || inspector_id)``."""
    return [i for _, i in sorted((draw.rank(seed, i.id), i.id) for i in pool)]


def assign(seed: str, targets: Sequence[JointTarget], pools: Mapping[str, Sequence[Inspector]], *,
           lead: str, rules: Rules, prior_load: Mapping[str, int] | None = None,
           ranks: Mapping[str, bytes] | None = None, shortcut: bool = True) -> dict[str, list[str]]:
    """Inspector ids per USCC. ``pools``: each department's eligible inspectors; ``prior_load``: targets
    each inspector already holds in the period; ``ranks``: the targets' ranks if already computed.
    Raises :class:`DrawRefused`.

    A department whose walk can skip nobody (no inspector conflicted with a target, none reaching the cap,
    no target needing more than the queue holds, no inspector in another pool) takes its inspectors
    straight from its queue in turn, which is what the walk gives then (``shortcut=False`` always walks)."""
    load = dict(prior_load or {})
    conflicts = {i.id: i.conflicts for pool in pools.values() for i in pool}
    queues = {d: deque(i for i in queue_order(seed, pool) if load.get(i, 0) < rules.cap_per_inspector)
              for d, pool in pools.items()}
    out: dict[str, list[str]] = {}
    rank_of = ranks if ranks is not None else draw.ranks(seed, (t.uscc for t in targets))
    usccs = [t.uscc for t in targets]
    keys: list[bytes] = list(map(rank_of.__getitem__, usccs))
    if len(set(keys)) < len(keys):  # equal ranks (32 bytes each): then by member
        keys = [r + u.encode() for r, u in zip(keys, usccs)]
    ordered = [targets[k] for k in sorted(range(len(keys)), key=keys.__getitem__)]
    cap, per_department, minimum = rules.cap_per_inspector, rules.per_department, rules.min_per_entity
    combinations = Counter(t.departments for t in targets)
    needs_of: dict[tuple[str, ...], list[tuple[str, int]]] = {}
    for departments in combinations:  # as needs() says, once per combination of departments
        extra = minimum - per_department * len(departments)
        top_up = (lead if lead in departments else departments[0]) if extra > 0 else None
        needs_of[departments] = [(d, per_department + (extra if d == top_up else 0)) for d in departments]
    turns = _turns(targets, combinations, needs_of, queues, pools, load, cap) if shortcut else {}
    steps = {ds: [(turns.get(d), d, n) for d, n in needs] for ds, needs in needs_of.items()}
    if all(turn is not None for st in steps.values() for turn, _, _ in st):  # nobody skipped anywhere
        takes = {ds: [turn for turn, _, n in st for _ in range(n)] for ds, st in steps.items()}
        return {t.uscc: list(map(call, takes[t.departments])) for t in ordered}
    for t in ordered:
        chosen: list[str] = []
        for turn, dept, n in steps[t.departments]:
            if turn is not None:                  # the queue in turn: nobody is skipped
                for _ in range(n):
                    chosen.append(turn())
                continue
            queue = queues.get(dept)
            if queue is None:
                queue = queues[dept] = deque()
            took = 0
            for _ in range(len(queue)):
                if took == n:
                    break
                i = queue.popleft()
                if load.get(i, 0) >= cap:
                    continue                      # at the cap: leaves the queue
                queue.append(i)                   # to the back, whether it goes or not
                if t.uscc not in conflicts[i] and i not in chosen:
                    chosen.append(i)
                    load[i] = load.get(i, 0) + 1
                    took += 1
            if took < n:
                raise _refusal(t.uscc, dept, n, took, pools.get(dept, ()), load, cap)
        out[t.uscc] = chosen
    return out


def _turns(targets: Sequence[JointTarget], combinations: Mapping[tuple[str, ...], int],
           needs_of: Mapping[tuple[str, ...], list[tuple[str, int]]], queues: Mapping[str, deque],
           pools: Mapping[str, Sequence[Inspector]], load: Mapping[str, int], cap: int) -> dict[str, Callable[[], str]]:
    """The departments whose walk skips nobody, each with its next inspector in turn."""
    ids = [i.id for pool in pools.values() for i in pool]
    if len(set(ids)) != len(ids):
        return {}
    wanted: dict[str, int] = {}
    largest: dict[str, int] = {}
    for departments, count in combinations.items():
        for d, n in needs_of[departments]:
            wanted[d] = wanted.get(d, 0) + n * count
            largest[d] = max(largest.get(d, 0), n)
    conflicted = {u for pool in pools.values() for i in pool for u in i.conflicts}
    if conflicted:
        conflicted &= {t.uscc for t in targets}
    out = {}
    for d, total in wanted.items():
        queue, pool = queues.get(d), pools.get(d, ())
        if not queue or largest[d] > len(queue) or any(not i.conflicts.isdisjoint(conflicted) for i in pool):
            continue
        rounds, rest = divmod(total, len(queue))
        if all(load.get(i, 0) + rounds + (k < rest) <= cap for k, i in enumerate(queue)):
            out[d] = cycle(list(queue)).__next__
    return out
