"""A joint draw's record replays to the identical result; a tampered record does not verify."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from datetime import date
from decimal import Decimal

import pytest

from inspection.domain import draw, joint, served_record
from inspection.domain.assignment import DrawRefused, Inspector, Rules
from inspection.domain.sampling import Candidate


def _input(seed: str) -> joint.DrawInput:
    rng = random.Random(11)
    population = [Candidate(f"U{n:04d}", rng.choice("ABCD")) for n in range(400)]
    ratios = {"A": Decimal(0), "B": Decimal("0.1"), "C": Decimal("0.3"), "D": Decimal("0.7")}
    plans = [joint.PlanInput("P1", "samr-410100", ("S1",), ratios, population),
             joint.PlanInput("P2", "nhc-410100", ("H1",), ratios, population[100:])]
    pools = {d: [Inspector(f"{d}/{k}", d, "c", date(2030, 1, 1), conflicts=frozenset({"U0001", "U0002"} if k == 0 else ()))
                 for k in range(30)] for d in ("samr-410100", "nhc-410100")}
    return joint.DrawInput(seed=seed, lead="samr-410100", plans=plans, pools=pools, rules=Rules(cap_per_inspector=20),
                           recognised={"U0101": ["H1"]}, prior_load={"samr-410100/3": 5})


def test_a_record_replays_to_the_identical_result_through_json():
    seed = draw.new_seed()
    inp = _input(seed)
    rec = json.loads(json.dumps(joint.record("T1", inp, joint.perform(inp))))
    assert joint.verify(rec) == []
    assert joint.replay(rec) == rec
    shared = {t["uscc"] for t in rec["targets"] if len(t["parts"]) == 2}
    assert shared, "the two plans share entities (one seed ranks them alike)"


def test_a_changed_sample_a_changed_seed_or_a_missing_member_is_caught():
    inp = _input(draw.new_seed())
    rec = joint.record("T1", inp, joint.perform(inp))
    swapped = copy.deepcopy(rec)
    d = next(s for s in swapped["plans"][0]["strata"] if s["credit_class"] == "D")
    outsider = next(u for u in d["members"] if u not in d["sample"])
    d["sample"][-1] = outsider
    assert joint.verify(swapped) == ["plans: the replay differs from the record"]
    other_seed = copy.deepcopy(rec)
    other_seed["seed"] = draw.new_seed()
    assert "seed hash" in joint.verify(other_seed)[0]
    fewer = copy.deepcopy(rec)
    fewer["plans"][1]["strata"][0]["members"].pop()
    assert "do not match the snapshot" in joint.verify(fewer)[0]


def test_strata_ranked_elsewhere_give_the_same_draw_and_record_as_ranking_here():
    """What the database hands over (each class's snapshot and lowest-ranked members, their ranks) draws the
    same targets and teams as the domain ranking everything itself; the record then names the kept
    population, and listing its members gives the full record back."""
    inp = _input(draw.new_seed())
    full = joint.record("T1", inp, joint.perform(inp))
    strata, ranks, kept, populations = {}, {}, {}, {}
    for n, p in enumerate(inp.plans):
        by_class: dict[str, list[str]] = {}
        for c in p.population:
            by_class.setdefault(c.credit_class, []).append(c.uscc)
        snaps = {c: draw.snapshot(m) for c, m in by_class.items()}
        lowest = {c: draw.take_lowest(inp.seed, m, len(m)) for c, m in by_class.items()}
        ranks.update({u: draw.rank(inp.seed, u) for m in lowest.values() for u in m})
        strata[p.plan_id] = joint.strata_from_ranked(p.ratios, snaps, lowest)
        kept.update({(n, c): sorted(m) for c, m in by_class.items()})
        populations[p.plan_id] = n
    out = joint.conclude(inp, strata, ranks)
    rec = joint.record("T1", inp, out, members=False, populations=populations)
    assert all(s["members"] is None and "population" in s for p in rec["plans"] for s in p["strata"])
    assert rec["targets"] == full["targets"]
    served = served_record.published(rec)
    assert [p["population"] for p in served["plans"]] == [0, 1]
    assert served_record.with_members(served, kept) == full


def test_the_served_record_lists_each_population_once_and_replays_with_its_members_bytes():
    """Plans over one population name it; the record lists it once per class, without its members, which the
    verifier gives as served (the bytes whose SHA-256 is the digest); a population not given cannot be replayed."""
    inp = _input(draw.new_seed())
    inp.plans[1].population = inp.plans[0].population          # the same filter: one population
    strata, ranks = joint.sample(inp)
    out = joint.conclude(inp, strata, ranks)
    full = joint.record("T1", inp, out)
    served = served_record.published(joint.record("T1", inp, out, members=False, populations={"P1": 0, "P2": 0}))
    by_class: dict[str, list[str]] = {}
    for c in inp.plans[0].population:
        by_class.setdefault(c.credit_class, []).append(c.uscc)
    kept = {(0, c): "\n".join(sorted(m)).encode() for c, m in by_class.items()}
    assert served["populations"] == [{"population": 0, "credit_class": c, "size": len(m),
                                      "digest": hashlib.sha256(kept[(0, c)]).hexdigest()}
                                     for c, m in sorted(by_class.items())]
    assert [p["population"] for p in served["plans"]] == [0, 0]
    assert not any("members" in s for p in served["plans"] for s in p["strata"])
    assert len(json.dumps(served)) < len(json.dumps(full)) - 2 * sum(len(v) for v in kept.values())
    assert joint.verify(served, kept) == []
    assert served_record.with_members(served, {k: served_record.members_of(v) for k, v in kept.items()}) == full
    with pytest.raises(ValueError, match="population 0 class B"):
        joint.verify(served, {k: v for k, v in kept.items() if k != (0, "B")})
    other = dict(kept)
    other[(0, "D")] = b"\n".join(sorted([*kept[(0, "D")].split(b"\n")[1:], b"U9999"]))
    assert joint.verify(served, other) == ["population 0 class D: the members given do not match its snapshot"]
    assert served_record.published(full) == full          # a record with its members in it is served as it is


def test_the_documented_targeted_inspection_vector():
    """docs/inspection-draw.md's vector with a requested entity: what the spec says a replay gives is what the
    service's draw gives (a spec without the requested part replayed to other targets and teams)."""
    from pathlib import Path

    seed = "dfe4550bc2adcfc875d855bc1c24bb330c4f3af3aae5dbf3cdcd418ec6a160dd"
    members = [f"91410100MA000000{n}A" for n in range(1, 9)]
    pool = [Inspector(f"I-{k}", "samr-410100", "c", date(2030, 1, 1)) for k in (1, 2, 3)]
    plan = joint.PlanInput("P1", "samr-410100", ("S1",), {"C": Decimal("0.3")}, [Candidate(m, "C") for m in members])
    inp = joint.DrawInput(seed=seed, lead="samr-410100", plans=[plan], pools={"samr-410100": pool}, rules=Rules(),
                          requested={"91410100MA0000007A": ["samr-410100"]})
    rec = joint.record("T1", inp, joint.perform(inp))
    assert rec["plans"][0]["strata"][0]["sample"] == ["91410100MA0000005A", "91410100MA0000003A"]
    assert [(t["uscc"], t["parts"], t["inspectors"]) for t in rec["targets"]] == [
        (f"91410100MA000000{n}A", [{"department": "samr-410100", "items": ["S1"]}], team)
        for n, team in ((3, ["I-3", "I-2"]), (5, ["I-2", "I-1"]), (7, ["I-1", "I-3"]))]
    assert rec["requested"] == {"91410100MA0000007A": ["samr-410100"]} and joint.verify(rec) == []
    spec = " ".join((Path(__file__).parents[4] / "docs" / "inspection-draw.md").read_text(encoding="utf-8").split())
    assert ('with `"requested": {"91410100MA0000007A": ["samr-410100"]}`: the sample stays `…0005A`, `…0003A`; the '
            "targets are `…0003A`, `…0005A`, `…0007A` (by USCC), each with the part `samr-410100: S1`; teams in rank "
            "order `…0005A` → `I-2, I-1`, `…0003A` → `I-3, I-2`, `…0007A` (rank `531fe482…`) → `I-1, I-3`.") in spec
    assert draw.rank(seed, "91410100MA0000007A").hex().startswith("531fe482")


def test_a_refused_draw_s_record_replays_to_the_same_refusal():
    """A pool that cannot satisfy the rules refuses the draw; its record (inputs, strata, no target) replays to
    the same refusal, and one that would not be refused (an inspector more) does not verify."""
    # a fixed seed: a random one drew, one time in a dozen, no target of a conflicted inspector (the pools list
    # conflicts only with the draw's targets), and the record's conflicts are part of what it replays
    inp = _input(hashlib.sha256(b"refusal-0").hexdigest())
    inp.rules = Rules(cap_per_inspector=2)
    strata, ranks = joint.sample(inp)
    with pytest.raises(DrawRefused) as refusal:
        joint.conclude(inp, strata, ranks)
    rec = json.loads(json.dumps(joint.record("T1", inp, joint.refused(inp, strata, refusal.value))))
    assert rec["refused"] == refusal.value.reason and rec["targets"] == []
    assert any(i["conflicts"] for pool in rec["inspector_pools"] for i in pool["inspectors"])
    assert joint.verify(rec) == []
    relaxed = copy.deepcopy(rec)
    relaxed["rules"]["cap_per_inspector"] = 1000
    f = rec["refusal"]
    assert joint.verify(relaxed) == [
        "targets: the replay differs from the record",
        f"the replay is not refused, the record refused at entity {f['uscc']}: {f['needed']} inspector(s) of "
        f"{f['department']} needed, {f['available']} available"]


def test_a_refused_record_verifies_by_the_refusal_s_fields_not_its_wording():
    """What a replay must reproduce of a refusal is specified (docs/inspection-draw.md): the entity, the department,
    how many inspectors it needed and how many could go (``refusal``). The text (``refused``) is for people, worded
    by each implementation: a record whose text differs but whose fields agree verifies, one naming another entity
    does not. (The text was compared: a replay in another language, wording or counting otherwise, never verified.)"""
    inp = _input(hashlib.sha256(b"refusal-0").hexdigest())
    drawn = json.loads(json.dumps(joint.record("T1", inp, joint.perform(inp))))
    drawn["rules"]["cap_per_inspector"] = 2
    rec = json.loads(json.dumps(joint.replay(drawn)))            # the same inputs, refused
    assert rec["targets"] == [] and set(rec["refusal"]) == {"uscc", "department", "needed", "available"}
    assert rec["refusal"]["uscc"] in rec["refused"] and rec["refusal"]["department"] in rec["refused"]
    assert joint.verify(rec) == []
    reworded = copy.deepcopy(rec)
    reworded["refused"] = f"{rec['refusal']['uscc']}：{rec['refusal']['department']} 可派检查人员不足"
    assert joint.verify(reworded) == []
    other = copy.deepcopy(rec)
    other["refusal"]["uscc"] = next(t for t in drawn["targets"] if t["uscc"] != rec["refusal"]["uscc"])["uscc"]
    problems = joint.verify(other)
    assert len(problems) == 1 and problems[0].startswith(f"the replay is refused at entity {rec['refusal']['uscc']}:")
    assert f"the record refused at entity {other['refusal']['uscc']}:" in problems[0]
    fewer = copy.deepcopy(rec)
    fewer["refusal"]["available"] += 1
    assert joint.verify(fewer) != []
    # A record made before the fields were published has only the text: the text is compared, as it was.
    earlier = copy.deepcopy(rec)
    del earlier["refusal"]
    assert joint.verify(earlier) == []
    del reworded["refusal"]
    assert joint.verify(reworded) != []
