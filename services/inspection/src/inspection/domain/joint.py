"""A joint task's draw, end to end, and its published record: what ``verify`` replays.

Every department's plan is drawn with the task's one seed (so an entity ranks the same in every plan and
its rank is computed once), per credit class; the samples are merged by USCC (汇总取重); then the
inspectors are drawn. The record (:func:`record`) holds everything needed to replay it: the seed, each
stratum's members, snapshot, ratio and sample, the items mutual recognition took out, each inspector
pool with the conflicts and prior loads that matter, and the result. As served (``served_record.published``) it
lists each population once, by reference, its members served apart. :func:`replay` recomputes the result from a record
with its members; :func:`verify` lists every difference (none: the record is what the algorithm gives).
"""

from __future__ import annotations

import gc
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator, Mapping, Sequence

from . import draw, served_record
from .assignment import REFUSAL_FIELDS, DrawRefused, Inspector, Rules, assign
from .merge import DepartmentSample, JointTarget, merge
from .sampling import Candidate, Stratum, fill_samples, stratify

ALGORITHM = "jsp-joint-draw-v1"


@dataclass
class PlanInput:
    plan_id: str
    department: str
    items: tuple[str, ...]
    ratios: Mapping[str, Decimal]
    population: Sequence[Candidate]


@dataclass
class DrawInput:
    seed: str
    lead: str
    plans: Sequence[PlanInput]
    pools: Mapping[str, Sequence[Inspector]]      # eligible inspectors per department
    rules: Rules = field(default_factory=Rules)
    recognised: Mapping[str, Sequence[str]] = field(default_factory=dict)
    prior_load: Mapping[str, int] = field(default_factory=dict)
    # Targeted inspections risk alerts asked for (USCC -> departments asked): targets beside the sample.
    requested: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass
class DrawOutcome:
    strata: dict[str, list[Stratum]]               # plan id -> strata
    targets: list[JointTarget]
    inspectors: dict[str, list[str]]               # uscc -> inspector ids
    refused: str | None = None                     # a refused draw: why (no target), for people
    refusal: Mapping[str, str | int] | None = None  # a refused draw: where and by how much (REFUSAL_FIELDS)
    merged: frozenset[str] = frozenset()           # a refused draw: the entities it would have visited


def perform(inp: DrawInput) -> DrawOutcome:
    """Draw every plan, merge, draw the inspectors. Raises ``DrawRefused`` when the pool cannot do it."""
    return conclude(inp, *sample(inp))


def sample(inp: DrawInput) -> tuple[dict[str, list[Stratum]], dict[str, bytes]]:
    """Every plan's strata with their samples, and the ranks of the population's members.

    Work is shared where the result allows: one seed ranks each entity once for every plan, and plans over
    the same population (the same filter) are split by class once and filled in one walk of the ranking."""
    ranks = draw.ranks(inp.seed, (c.uscc for p in inp.plans for c in p.population))
    order = [m for _, m in sorted(zip(ranks.values(), ranks.keys()))]  # one ranking for every plan (one seed)
    strata: dict[str, list[Stratum]] = {}
    groups: dict[int, list[PlanInput]] = {}
    for p in inp.plans:
        groups.setdefault(id(p.population), []).append(p)
    for group in groups.values():
        shared = stratify(group[0].population, {})
        per_plan = {p.plan_id: [Stratum(s.credit_class, p.ratios.get(s.credit_class, Decimal(0)), s.members, s.snapshot)
                                for s in shared] for p in group}
        for p in group:  # a class the plan names but the population lacks is an empty stratum
            for cls in sorted(set(p.ratios) - {s.credit_class for s in shared}):
                per_plan[p.plan_id].append(Stratum(cls, p.ratios[cls], [], draw.snapshot([])))
            per_plan[p.plan_id].sort(key=lambda s: s.credit_class)
        fill_samples(list(per_plan.values()), order)
        strata.update(per_plan)
    return strata, ranks


def strata_from_ranked(ratios: Mapping[str, Decimal], snapshots: Mapping[str, draw.Snapshot],
                       lowest: Mapping[str, Sequence[str]]) -> list[Stratum]:
    """A plan's strata when the population was snapshotted and ranked elsewhere (in the database, by the same
    algorithm): each class's ``sample_size(ratio, size)`` first members of ``lowest`` (that class's
    lowest-ranked members, lowest first). The members themselves are kept with the record, not here."""
    out = []
    for cls in sorted(set(snapshots) | set(ratios)):
        snap = snapshots.get(cls) or draw.snapshot([])
        ratio = ratios.get(cls, Decimal(0))
        out.append(Stratum(cls, ratio, [], snap, list(lowest.get(cls, ())[:draw.sample_size(ratio, snap.size)])))
    return out


def conclude(inp: DrawInput, strata: Mapping[str, list[Stratum]], ranks: Mapping[str, bytes]) -> DrawOutcome:
    """Merge the plans' samples by USCC and draw the inspectors (``ranks``: at least every sampled member's)."""
    with _collector_paused():
        return _conclude(inp, strata, ranks)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A large draw makes hundreds of thousands of small objects and keeps them all: the cyclic garbage
    collector, triggered by their number, would walk them again and again to free nothing."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _conclude(inp: DrawInput, strata: Mapping[str, list[Stratum]], ranks: Mapping[str, bytes]) -> DrawOutcome:
    targets, ranks = _merged(inp, strata, ranks)
    inspectors = assign(inp.seed, targets, inp.pools, lead=inp.lead, rules=inp.rules, prior_load=inp.prior_load,
                        ranks=ranks)
    return DrawOutcome(dict(strata), targets, inspectors)


def _merged(inp: DrawInput, strata: Mapping[str, list[Stratum]], ranks: Mapping[str, bytes]
            ) -> tuple[list[JointTarget], Mapping[str, bytes]]:
    """The joint targets (the samples and the requested entities merged), and ranks with the requested ones'."""
    samples = [DepartmentSample(p.department, p.plan_id, tuple(p.items),
                                tuple(u for s in strata[p.plan_id] for u in s.sample)) for p in inp.plans]
    if inp.requested:  # each asked department's plan inspects the requested entity too
        samples += [DepartmentSample(p.department, p.plan_id, tuple(p.items),
                                     tuple(u for u, ds in inp.requested.items() if p.department in ds))
                    for p in inp.plans]
        missing = [u for u in inp.requested if u not in ranks]
        ranks = {**ranks, **draw.ranks(inp.seed, missing)} if missing else ranks
    return merge(samples, inp.recognised), ranks


def refused(inp: DrawInput, strata: Mapping[str, list[Stratum]], refusal: DrawRefused) -> DrawOutcome:
    """The outcome of a refused draw, for its record: the strata and no target (the refusal's reason and fields go
    on the record); the merged targets only name the conflicts its pools list."""
    targets, _ = _merged(inp, strata, {u: b"" for st in strata.values() for s in st for u in s.sample})
    return DrawOutcome(dict(strata), [], {}, refused=refusal.reason, refusal=refusal.refusal,
                       merged=frozenset(t.uscc for t in targets))


def record(task_id: str, inp: DrawInput, out: DrawOutcome, *, members: bool = True,
           populations: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The published record of a performed or refused draw (JSON-ready). ``members=False`` leaves the population
    lists out (the snapshot still identifies them), for an event. ``populations`` (plan id -> number of the
    population kept beside the record) names where each plan's members are kept instead."""
    targets_set = {t.uscc for t in out.targets} | out.merged
    kept = populations or {}
    return {
        "algorithm": ALGORITHM,
        "task_id": task_id,
        "seed_hash": draw.seed_hash(inp.seed),
        "seed": inp.seed,
        "lead_department": inp.lead,
        "rules": {"min_per_entity": inp.rules.min_per_entity, "per_department": inp.rules.per_department,
                  "cap_per_inspector": inp.rules.cap_per_inspector},
        "plans": [{
            "plan_id": p.plan_id, "department": p.department, "items": list(p.items),
            "strata": [{"credit_class": s.credit_class, "ratio": str(s.ratio), "size": s.snapshot.size,
                        "digest": s.snapshot.digest, "members": s.members if members else None,
                        "sample": s.sample, **({"population": kept[p.plan_id]} if p.plan_id in kept else {})}
                       for s in out.strata[p.plan_id]],
        } for p in inp.plans],
        "recognised": {u: sorted(v) for u, v in sorted(inp.recognised.items()) if v},
        **({"requested": {u: sorted(v) for u, v in sorted(inp.requested.items())}} if inp.requested else {}),
        "inspector_pools": [{
            "department": d,
            **_pool_snapshot(pool),
            "inspectors": [{"id": i.id, "conflicts": sorted(i.conflicts & targets_set),
                            "prior_load": inp.prior_load.get(i.id, 0)} for i in pool],
        } for d, pool in sorted(inp.pools.items())],
        "targets": [{"uscc": t.uscc, "parts": [{"department": d, "items": list(items)} for d, items in t.parts],
                     "recognised": list(t.recognised), "inspectors": out.inspectors[t.uscc]} for t in out.targets],
        **({"refused": out.refused, "refusal": dict(out.refusal or {})} if out.refused is not None else {}),
    }


def _pool_snapshot(pool: Sequence[Inspector]) -> dict[str, Any]:
    s = draw.snapshot(i.id for i in pool)
    return {"size": s.size, "digest": s.digest}


def input_from_record(rec: Mapping[str, Any]) -> DrawInput:
    """The draw's inputs as the record states them (raises ValueError on a malformed record)."""
    if rec.get("algorithm") != ALGORITHM:
        raise ValueError(f"not a {ALGORITHM} record")
    plans = []
    for p in rec["plans"]:
        population, ratios = [], {}
        for s in p["strata"]:
            if s.get("members") is None:
                raise ValueError(f"plan {p['plan_id']} class {s['credit_class']}: the record lists no members "
                                 "(each population's are served apart: give them)")
            ratios[s["credit_class"]] = Decimal(s["ratio"])
            population.extend(Candidate(u, s["credit_class"]) for u in s["members"])
        plans.append(PlanInput(p["plan_id"], p["department"], tuple(p["items"]), ratios, population))
    pools, load = {}, {}
    for pool in rec["inspector_pools"]:
        pools[pool["department"]] = [Inspector(i["id"], pool["department"], "", None,
                                               conflicts=frozenset(i["conflicts"])) for i in pool["inspectors"]]
        load.update({i["id"]: i["prior_load"] for i in pool["inspectors"] if i["prior_load"]})
    return DrawInput(seed=draw.check_seed(rec["seed"]), lead=rec["lead_department"], plans=plans, pools=pools,
                     rules=Rules(**rec["rules"]), recognised=rec.get("recognised", {}), prior_load=load,
                     requested=rec.get("requested", {}))


def replay(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The record the algorithm gives for the inputs ``rec`` states (a refused draw's, when it refuses)."""
    inp = input_from_record(rec)
    strata, ranks = sample(inp)
    try:
        out = conclude(inp, strata, ranks)
    except DrawRefused as exc:
        out = refused(inp, strata, exc)
    return record(rec["task_id"], inp, out)


def verify(rec: Mapping[str, Any], kept: Mapping[tuple[int, str], bytes] | None = None) -> list[str]:
    """Every way ``rec`` differs from its replay (an empty list: verified). A record that lists its populations
    (``populations``) needs their members, as served: ``kept``, (population, credit class) -> the bytes
    (ValueError when one is missing)."""
    problems = []
    if draw.seed_hash(rec["seed"]) != rec["seed_hash"]:
        problems.append("the seed does not hash to the seed hash published before the draw")
    if "populations" in rec:
        members = {}
        for pop in rec["populations"]:
            key = (pop["population"], pop["credit_class"])
            if key not in (kept or {}):
                raise ValueError(f"population {key[0]} class {key[1]}: its members are served apart; give them")
            members[key] = served_record.members_of(kept[key])
            if (len(members[key]), hashlib.sha256(kept[key]).hexdigest()) != (pop["size"], pop["digest"]):
                problems.append(f"population {key[0]} class {key[1]}: the members given do not match its snapshot")
        if problems:
            return problems
        rec = served_record.with_members(rec, members)
    for p in rec["plans"]:
        for s in p["strata"]:
            snap = draw.snapshot(s["members"] or [])
            if (snap.size, snap.digest) != (s["size"], s["digest"]):
                problems.append(f"plan {p['plan_id']} class {s['credit_class']}: the members do not match the "
                                f"snapshot (size {snap.size}, digest {snap.digest})")
    if problems:
        return problems
    again = replay(rec)
    for key in ("plans", "targets", "inspector_pools"):
        if again[key] != rec[key]:
            problems.append(f"{key}: the replay differs from the record")
    by_fields = "refusal" in rec  # a record made before the refusal's fields were published states its text only
    if _refusal(again, by_fields) != _refusal(rec, by_fields):
        problems.append(f"the replay is {_refusal(again, by_fields)}, the record {_refusal(rec, by_fields)}")
    return problems


def _refusal(rec: Mapping[str, Any], by_fields: bool) -> str:
    """What a replay must reproduce of a refusal: its fields (``REFUSAL_FIELDS``; the text is for people), or, of a
    record made before they were published, its text."""
    if "refused" not in rec:
        return "not refused"
    if not by_fields:
        return f"refused ({rec['refused']})"
    f = {k: rec["refusal"][k] for k in REFUSAL_FIELDS}
    return (f"refused at entity {f['uscc']}: {f['needed']} inspector(s) of {f['department']} needed, "
            f"{f['available']} available")
