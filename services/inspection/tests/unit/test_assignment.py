"""Drawing inspectors: two per entity from the inspected departments, conflicts never drawn, caps, and a
clear refusal instead of fewer inspectors."""

from __future__ import annotations

import random
from datetime import date

import pytest
from inspection.domain import draw
from inspection.domain.assignment import (
    DrawRefused,
    Inspector,
    Rules,
    assign,
    eligible,
    needs,
)
from inspection.domain.merge import JointTarget

END = date(2026, 6, 30)


def pool(dept: str, n: int, **conflicts: frozenset) -> list[Inspector]:
    return [Inspector(f"{dept}/i{k}", dept, f"C{k}", date(2027, 1, 1), True, conflicts.get(f"i{k}", frozenset()))
            for k in range(n)]


def target(uscc: str, *depts: str) -> JointTarget:
    return JointTarget(uscc, tuple((d, (f"{d}:item",)) for d in depts))


def test_a_conflicted_inspector_is_never_drawn_whatever_the_seed():
    targets = [target(f"U{n}", "samr-410100", "nhc-410100") for n in range(30)]
    conflicted = frozenset(f"U{n}" for n in range(30))
    pools = {"samr-410100": pool("samr-410100", 3, i0=conflicted), "nhc-410100": pool("nhc-410100", 3, i1=conflicted)}
    for _ in range(50):
        got = assign(draw.new_seed(), targets, pools, lead="samr-410100", rules=Rules(cap_per_inspector=100))
        drawn = {i for ids in got.values() for i in ids}
        assert "samr-410100/i0" not in drawn and "nhc-410100/i1" not in drawn
        assert all(len(ids) >= 2 and len(set(ids)) == len(ids) for ids in got.values())


def test_every_inspected_department_sends_someone_and_the_lead_tops_up_to_two():
    t1, t2 = target("U1", "samr-410100", "nhc-410100"), target("U2", "nhc-410100")
    assert needs(t1, "samr-410100", Rules()) == {"samr-410100": 1, "nhc-410100": 1}
    assert needs(t2, "samr-410100", Rules()) == {"nhc-410100": 2}
    got = assign(draw.new_seed(), [t1, t2], {"samr-410100": pool("samr-410100", 2), "nhc-410100": pool("nhc-410100", 3)},
                 lead="samr-410100", rules=Rules())
    assert sorted(i.split("/")[0] for i in got["U1"]) == ["nhc-410100", "samr-410100"]
    assert [i.split("/")[0] for i in got["U2"]] == ["nhc-410100", "nhc-410100"]


def test_a_pool_too_small_is_refused_with_the_reason_not_drawn_short():
    with pytest.raises(DrawRefused) as exc:
        assign(draw.new_seed(), [target("U1", "samr-410100")], {"samr-410100": pool("samr-410100", 2, i1=frozenset({"U1"}))},
               lead="samr-410100", rules=Rules())
    assert exc.value.facts == {"uscc": "U1", "department": "samr-410100", "needed": 2, "available": 1, "pool": 2,
                               "conflicted": 1, "at_cap": 0}
    assert "conflicted" in exc.value.reason


def test_the_cap_per_inspector_counts_earlier_targets_and_refuses_beyond_it():
    targets = [target(f"U{n}", "samr-410100") for n in range(4)]
    got = assign(draw.new_seed(), targets, {"samr-410100": pool("samr-410100", 4)}, lead="samr-410100",
                 rules=Rules(cap_per_inspector=2))
    load: dict[str, int] = {}
    for ids in got.values():
        for i in ids:
            load[i] = load.get(i, 0) + 1
    assert max(load.values()) <= 2
    with pytest.raises(DrawRefused) as exc:
        assign(draw.new_seed(), targets, {"samr-410100": pool("samr-410100", 4)}, lead="samr-410100",
               rules=Rules(cap_per_inspector=2), prior_load={"samr-410100/i0": 2, "samr-410100/i1": 2})
    assert exc.value.facts["at_cap"] == 4 and exc.value.facts["available"] == 0  # two targets fill i2, i3


def test_only_active_inspectors_with_a_certificate_valid_through_the_period_are_eligible():
    people = [Inspector("a", "d", "1", date(2026, 6, 30)), Inspector("b", "d", "2", date(2026, 6, 29)),
              Inspector("c", "d", "3", date(2027, 1, 1), active=False), Inspector("e", "d", "4", None)]
    assert [i.id for i in eligible(people, END)] == ["a"]


def test_the_documented_inspector_vector():
    """docs/inspection-draw.md: the inspector part of the test vector."""
    seed = "dfe4550bc2adcfc875d855bc1c24bb330c4f3af3aae5dbf3cdcd418ec6a160dd"
    t5, t3 = target("91410100MA0000005A", "d"), target("91410100MA0000003A", "d")
    ids = lambda conflicts=frozenset(): [Inspector("I-1", "d", "1", date(2030, 1, 1)),  # noqa: E731
                                         Inspector("I-2", "d", "2", date(2030, 1, 1)),
                                         Inspector("I-3", "d", "3", date(2030, 1, 1), conflicts=conflicts)]
    assert assign(seed, [t3, t5], {"d": ids()}, lead="d", rules=Rules()) == {
        "91410100MA0000005A": ["I-2", "I-1"], "91410100MA0000003A": ["I-3", "I-2"]}
    assert assign(seed, [t3, t5], {"d": ids(frozenset({t3.uscc}))}, lead="d", rules=Rules())[t3.uscc] == ["I-2", "I-1"]
    with pytest.raises(DrawRefused) as exc:
        assign(seed, [t3, t5], {"d": ids()}, lead="d", rules=Rules(cap_per_inspector=1))
    assert exc.value.refusal == {"uscc": t3.uscc, "department": "d", "needed": 2, "available": 1}


def test_taking_inspectors_in_turn_gives_what_the_walk_gives():
    """Departments whose queue skips nobody take their inspectors in turn instead of walking the queue:
    the same teams, and the same refusals, over pools with and without conflicts, caps and prior loads."""
    rng = random.Random(7)
    depts = ["mem-410100", "nhc-410100", "samr-410100"]
    for case in range(300):
        usccs = [f"U{n}" for n in range(rng.randint(1, 40))]
        targets = [target(u, *sorted(rng.sample(depts, rng.randint(1, 3)))) for u in usccs]
        pools = {}
        for d in depts:
            conflicts = {f"i{k}": frozenset(rng.sample(usccs, 1)) for k in range(4) if rng.random() < 0.1}
            pools[d] = pool(d, rng.randint(0, 6), **conflicts)
        rules = Rules(min_per_entity=rng.choice([2, 3]), cap_per_inspector=rng.choice([3, 8, 100]))
        load = {i.id: rng.randint(0, 3) for p in pools.values() for i in p if rng.random() < 0.3}
        seed = draw.new_seed()
        got = []
        for shortcut in (True, False):
            try:
                got.append(assign(seed, targets, pools, lead="samr-410100", rules=rules, prior_load=load,
                                  shortcut=shortcut))
            except DrawRefused as exc:
                got.append(exc.facts)
        assert got[0] == got[1], case
