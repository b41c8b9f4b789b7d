"""Draws of a joint task: announce (the seed's hash), perform (populations, samples, merge, inspectors),
abandon. Every draw stays on the record; a task has at most one live draw, announced and performed within the
task's period."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from jsp_common import clock, topics
from jsp_common.db import Database
from jsp_common.events.inspection import (AssignedTarget, DrawAbandoned, DrawAnnounced, DrawnTarget, DrawPerformed,
                                          StratumRecord, TaskAssigned)
from jsp_common.outbox import Transaction
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import directory, ranking
from ..adapters import requests as requests_repo
from ..adapters import tasks as repo
from ..deps import Deps
from ..domain import access, draw, joint, recognition, served_record
from ..domain.assignment import DrawRefused, Rules, eligible
from . import requests
from .plans import still_open, visible_task


@dataclass
class Refused:
    draw_id: str
    reason: str
    facts: dict[str, Any]


async def announce(tx: Transaction, actor: Principal, task_id: str) -> dict:
    task = await visible_task(tx.session, actor, task_id, for_update=True)
    if not access.leads(actor, task):
        raise Problem(403, f"the lead department {task['lead_department']} (or the office) draws a joint task")
    still_open(task["period_end"], "no draw after it")
    live = await repo.live_draw(tx.session, task_id)
    if live:
        raise Problem(409, f"draw {live['id']} of this task is {live['status']}; abandon it (with a reason) first",
                      draw_id=live["id"])
    seed, at = draw.new_seed(), clock.now()
    row = await repo.add_draw(tx.session, {"id": f"DR-{uuid.uuid4().hex[:12]}", "task_id": task_id, "seed": seed,
                                           "seed_hash": draw.seed_hash(seed), "status": "announced", "announced_at": at,
                                           "actor": actor.subject})
    await tx.emit(topics.INSPECTION_DRAWS, DrawAnnounced(
        draw_id=row["id"], task_id=task_id, matter_code=task["matter_code"], lead_department=task["lead_department"],
        departments=task["departments"], seed_hash=row["seed_hash"], announced_at=at), key=task_id)
    return public_view(row)


def rules_of(deps: Deps) -> Rules:
    s = deps.settings
    return Rules(min_per_entity=s.min_inspectors_per_entity, per_department=s.inspectors_per_department,
                 cap_per_inspector=s.max_targets_per_inspector)


async def draw_input(deps: Deps, tx: Transaction, task: dict, seed: str, draw_id: str
                     ) -> tuple[joint.DrawInput, dict[str, list], dict[str, bytes], dict[str, int]]:
    """Everything the draw takes, read now, with the plans' populations snapshotted and ranked by the
    database (``adapters/ranking.py``, the published algorithm in SQL): the input (without the members,
    kept beside the record), each plan's drawn strata, the sampled members' ranks, and which kept
    population each plan drew from (plans with the same filter share one)."""
    s, session = deps.settings, tx.session
    plans = await repo.plans_by_id(session, task["plan_ids"])
    await ranking.use_work_mem(session, s.draw_work_mem)
    year, cap = task["period_start"].year, s.max_inspections_per_entity_per_year
    inputs, strata, ranks, populations, filters = [], {}, {}, {}, {}
    for p in plans:
        key = json.dumps(p["filter"], sort_keys=True)
        if key not in filters:
            asked = {(c, Decimal(r)) for q in plans if json.dumps(q["filter"], sort_keys=True) == key
                     for c, r in q["ratios"].items()}
            snaps, lowest, got = await ranking.draw_population(session, draw_id, len(filters), p["filter"], year=year,
                                                               yearly_cap=cap, seed=seed, ratios=sorted(asked))
            ranks.update(got)
            filters[key] = (len(filters), snaps, lowest)
        number, snaps, lowest = filters[key]
        ratios = {k: Decimal(v) for k, v in p["ratios"].items()}
        inputs.append(joint.PlanInput(p["id"], p["department"], tuple(p["items"]), ratios, ()))
        strata[p["id"]] = joint.strata_from_ranked(ratios, snaps, lowest)
        populations[p["id"]] = number
    items = sorted({i for p in plans for i in p["items"]})
    pools = {d: eligible(pool, task["period_end"]) for d, pool in (await directory.pools(session, task["departments"])).items()}
    load = await directory.loads(session, [i.id for pool in pools.values() for i in pool], task["period_start"],
                                 task["period_end"])
    asked = await requests.for_task(tx, task, plans)
    await requests_repo.take_in(session, asked.parts, task["id"])
    inspected = await repo.inspected(session, task["matter_code"], items, task["period_start"], task["period_end"],
                                     recognition.INSPECTED)
    recognised = recognition.recognised(inspected, {i: p["department"] for p in plans for i in p["items"]},
                                        asked.requested_on)
    inp = joint.DrawInput(seed=seed, lead=task["lead_department"], plans=inputs, pools=pools, rules=rules_of(deps),
                          recognised=recognised, prior_load=load, requested=asked.requested)
    return inp, strata, ranks, populations


async def perform(deps: Deps, tx: Transaction, actor: Principal, draw_id: str) -> dict | Refused:
    row = await _visible_draw(tx.session, actor, draw_id, for_update=True)
    task = await visible_task(tx.session, actor, row["task_id"], for_update=True)
    if not access.leads(actor, task):
        raise Problem(403, f"the lead department {task['lead_department']} (or the office) draws a joint task")
    if row["status"] != "announced":
        raise Problem(409, f"draw {draw_id} is {row['status']}; a draw is performed once", status_now=row["status"])
    still_open(task["period_end"], "no draw after it")
    await repo.in_turn(tx.session)  # after every draw performed before it, so the caps count its targets
    inp, strata, ranks, populations = await draw_input(deps, tx, task, row["seed"], draw_id)
    at = clock.now()
    try:
        out = joint.conclude(inp, strata, ranks)
    except DrawRefused as exc:
        # On the record like any draw: its inputs (the populations kept) replay to the same refusal.
        rec = joint.record(task["id"], inp, joint.refused(inp, strata, exc), members=False, populations=populations)
        await requests_repo.release(tx.session, task["id"])
        await repo.close_draw(tx.session, draw_id, status="refused", at=at, reason=exc.reason, record=rec,
                              rendered=served_record.rendered(rec))
        await tx.emit(topics.INSPECTION_DRAWS, DrawAbandoned(draw_id=draw_id, task_id=task["id"], seed_hash=row["seed_hash"],
                      seed=row["seed"], status="refused", reason=exc.reason, at=at), key=task["id"])
        return Refused(draw_id, exc.reason, exc.facts)
    rec = joint.record(task["id"], inp, out, members=False, populations=populations)
    await repo.close_draw(tx.session, draw_id, status="performed", at=at, record=rec, rendered=served_record.rendered(rec))
    await requests_repo.release(tx.session, task["id"],
                                visits=[(t.uscc, d) for t in out.targets for d in t.departments])
    names = await directory.entity_names(tx.session, [t.uscc for t in out.targets])
    await repo.add_targets(tx.session, [{
        "task_id": task["id"], "uscc": t.uscc, "draw_id": draw_id, "entity_name": names[t.uscc]["name"],
        "address": names[t.uscc]["address"], "parts": [{"department": d, "items": list(i)} for d, i in t.parts],
        "departments": list(t.departments), "inspectors": out.inspectors[t.uscc], "year": task["period_start"].year,
        "period_start": task["period_start"], "period_end": task["period_end"]} for t in out.targets])
    full = len(out.targets) <= deps.settings.max_targets_in_event
    await tx.emit(topics.INSPECTION_DRAWS, DrawPerformed(
        draw_id=draw_id, task_id=task["id"], seed_hash=row["seed_hash"], seed=row["seed"], algorithm=joint.ALGORITHM,
        strata=[StratumRecord(plan_id=p["plan_id"], department=p["department"], credit_class=s["credit_class"],
                              ratio=s["ratio"], size=s["size"], digest=s["digest"], sample=s["sample"] if full else [])
                for p in rec["plans"] for s in p["strata"]],
        targets=[DrawnTarget(uscc=t.uscc, departments=list(t.departments), inspectors=out.inspectors[t.uscc])
                 for t in out.targets] if full else [], listed_in_full=full, performed_at=at), key=task["id"])
    await _assign(tx, task, draw_id, inp, out, names, at, deps.settings.max_targets_per_assignment)
    return {"draw_id": draw_id, "task_id": task["id"], "status": "performed", "seed": row["seed"],
            "seed_hash": row["seed_hash"], "targets": len(out.targets),
            "sampled": sum(len(s.sample) for st in out.strata.values() for s in st)}


async def _assign(tx: Transaction, task: dict, draw_id: str, inp: joint.DrawInput, out: joint.DrawOutcome,
                  names: dict, at, per_message: int) -> None:
    """Each department's part of the joint task, on its own topic (in parts of ``per_message`` targets)."""
    department_of = {i.id: d for d, pool in inp.pools.items() for i in pool}
    for dept in task["departments"]:
        mine = [t for t in out.targets if dept in t.departments]
        chunks = [mine[k:k + per_message] for k in range(0, len(mine), per_message)] or [[]]
        for n, chunk in enumerate(chunks, start=1):
            await tx.emit(topics.department_topic(topics.DEPARTMENT_INSPECTIONS, dept), TaskAssigned(
                task_id=task["id"], draw_id=draw_id, matter_code=task["matter_code"],
                matter_version=task["matter_version"], lead_department=task["lead_department"], department=dept,
                period_start=task["period_start"], period_end=task["period_end"], assigned_at=at, part=n,
                parts=len(chunks), targets=[AssignedTarget(
                    uscc=t.uscc, entity_name=names[t.uscc]["name"], address=names[t.uscc]["address"],
                    items=list(dict(t.parts)[dept]), joint_departments=list(t.departments),
                    inspectors=[i for i in out.inspectors[t.uscc] if department_of.get(i) == dept],
                    team=out.inspectors[t.uscc]) for t in chunk]), key=task["id"])


async def abandon(tx: Transaction, actor: Principal, draw_id: str, reason: str) -> dict:
    row = await _visible_draw(tx.session, actor, draw_id, for_update=True)
    task = await visible_task(tx.session, actor, row["task_id"], for_update=True)
    if not access.leads(actor, task):
        raise Problem(403, f"the lead department {task['lead_department']} (or the office) abandons a draw")
    if row["status"] not in ("announced", "performed"):
        raise Problem(409, f"draw {draw_id} is already {row['status']}")
    if row["status"] == "performed":
        await repo.lock_targets(tx.session, task["id"])  # results being recorded at a target: waited for, seen
        if await repo.any_result(tx.session, task["id"]):
            raise Problem(409, "results are recorded for this draw's targets: it can no longer be abandoned")
    at = clock.now()
    await repo.remove_targets(tx.session, task["id"])
    await requests_repo.release(tx.session, task["id"])
    await repo.close_draw(tx.session, draw_id, status="abandoned", at=at, reason=reason)  # its record kept
    abandoned = DrawAbandoned(draw_id=draw_id, task_id=task["id"], seed_hash=row["seed_hash"], seed=row["seed"],
                              status="abandoned", reason=reason, at=at)
    await tx.emit(topics.INSPECTION_DRAWS, abandoned, key=task["id"])
    if row["status"] == "performed":
        # Every department received its part of this draw on its own topic, the only one its line system reads:
        # told there too, or the visits it was assigned stay live.
        for department in task["departments"]:
            await tx.emit(topics.department_topic(topics.DEPARTMENT_INSPECTIONS, department), abandoned,
                          key=task["id"])
    return public_view({**row, "status": "abandoned", "reason": reason, "closed_at": at})


async def _visible_draw(session: AsyncSession, actor: Principal, draw_id: str, *, for_update: bool = False) -> dict:
    row = await repo.draw(session, draw_id, for_update=for_update)
    if row is None:
        raise Problem(404, f"no draw {draw_id}")
    await visible_task(session, actor, row["task_id"])
    return row


def public_view(row: dict) -> dict:
    """What anyone may see of a draw: before it is performed only the seed's hash; after, the seed, the
    reason of a refusal or abandonment, and the record to replay of every draw that was performed, kept
    (``performed``) or not (``abandoned``: its targets were discarded, and the record shows which), or
    ``refused`` (its inputs, which replay to the same refusal); the record lists the populations, whose members
    are served apart (:func:`kept_population`)."""
    out = {"draw_id": row["id"], "task_id": row["task_id"], "status": row["status"], "seed_hash": row["seed_hash"],
           "announced_at": row["announced_at"], "closed_at": row.get("closed_at"), "reason": row.get("reason")}
    if row["status"] != "announced":
        out["seed"] = row["seed"]
    if row.get("record") is not None:
        out["record"] = row["record"]
    return out


@dataclass
class Rendered:
    """A draw as published (:func:`public_view`) whose record is kept rendered: the answer but the record
    (``view``), how many bytes the record is, and those bytes in slices."""
    view: dict
    size: int
    record: AsyncIterator[bytes]


async def public_draw(db: Database, draw_id: str, *, slice_bytes: int) -> dict | Rendered:
    """A draw as published. Its record as kept rendered when it is (every draw closed since it is), in slices of
    ``slice_bytes``, each read on its own (a closed draw's record never changes), so that serving it holds one
    slice, and a connection only while a slice is read; a draw closed before, its record rendered now."""
    async with db.reading() as session:
        row = await repo.public_head(session, draw_id)
        if row is None:
            raise Problem(404, f"no draw {draw_id}")
        if row["has_record"] and row["rendered_size"] is None:
            row = await repo.draw(session, draw_id)
            return public_view({**row, "record": served_record.published(row["record"])})
    if not row["has_record"]:
        return public_view(row)
    size = row["rendered_size"]
    return Rendered(public_view(row), size, _in_slices(
        db, size, slice_bytes, lambda session, start: repo.rendered_slice(session, draw_id, start, slice_bytes)))


async def kept_population(db: Database, draw_id: str, population: int, credit_class: str, *, slice_bytes: int
                          ) -> tuple[int, AsyncIterator[bytes]]:
    """One population a draw kept (its record lists it under ``populations``): how many bytes its members are, and
    those bytes (newline-joined UTF-8, whose SHA-256 is the population's digest) in slices of ``slice_bytes``, each
    read on its own (a kept population never changes), so that serving it holds one slice, and a connection
    only while a slice is read."""
    async with db.reading() as session:
        size = await ranking.kept_size(session, draw_id, population, credit_class)
    if size is None:
        raise Problem(404, f"no population {population} of class {credit_class} kept by draw {draw_id} (a performed "
                           "draw's record lists those it kept under populations)")
    return size, _in_slices(db, size, slice_bytes, lambda session, start: ranking.kept_slice(
        session, draw_id, population, credit_class, start, slice_bytes))


async def _in_slices(db: Database, size: int, slice_bytes: int,
                     read: Callable[[AsyncSession, int], Awaitable[bytes]]) -> AsyncIterator[bytes]:
    """``size`` bytes that never change, read ``slice_bytes`` at a time from ``start`` (``read``), each slice in a
    reading session of its own: the caller holds one slice, and a connection only while a slice is read."""
    for start in range(0, size, slice_bytes):
        async with db.reading() as session:
            yield await read(session, start)
