"""A draw's public record stays small whatever the size of its populations: each population the draw kept is
listed once (number, credit class, size, digest) and each plan names its own; the members are served apart, one
population at a time, as the very bytes whose SHA-256 is the digest; and the verify command fetches them from
there. (Every plan's strata listed the whole population: five plans over a million entities made a public answer
of 216 MB, built in memory by the service, for anyone asking without a login.)"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json

from sqlalchemy import text

from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import dept

from inspection.__main__ import main as cli
from inspection.domain import draw, joint, served_record

from .conftest import new_industry

SAMR, NHC = "samr-410100", "nhc-410100"


async def _drawn(service) -> tuple[str, dict[str, list[str]]]:
    """Two departments' plans over one industry's 60 entities, drawn: the draw's id, and the members per class."""
    industry = new_industry()
    usccs = [new_uscc("410102") for _ in range(60)]
    classes = {u: "CD"[k % 2] for k, u in enumerate(usccs[:40])}   # the other 20 are unrated: class B
    await service.entities(60, industry, usccs=usccs, classes=classes)
    await service.inspectors(SAMR, 4)
    await service.inspectors(NHC, 4)
    matter = await service.matter()
    plans = [await service.plan(SAMR, matter["code"], industry, {"B": 0.05, "C": 0.25, "D": 0.7}),
             await service.plan(NHC, matter["code"], industry, {"B": 0.1, "C": 0.3, "D": 0.65})]
    task = (await service.post("/tasks", dept(SAMR), {"plan_ids": [p["id"] for p in plans]})).json()
    announced = (await service.post(f"/tasks/{task['id']}/draws", dept(SAMR))).json()
    r = await service.post(f"/draws/{announced['draw_id']}/perform", dept(SAMR))
    assert r.status_code == 200, r.text
    return announced["draw_id"], {c: sorted(u for u in usccs if classes.get(u, "B") == c) for c in "BCD"}


async def test_the_record_lists_each_population_once_and_serves_its_members_apart(service):
    draw_id, by_class = await _drawn(service)
    answer = await service.get(f"/public/draws/{draw_id}")
    rec = answer.json()["record"]
    # The two plans have the same filter: one population, listed once, each class with its snapshot.
    assert rec["populations"] == [
        {"population": 0, "credit_class": c, "size": len(m), "digest": draw.snapshot(m).digest}
        for c, m in sorted(by_class.items())]
    assert [p["population"] for p in rec["plans"]] == [0, 0]
    assert all("members" not in s for p in rec["plans"] for s in p["strata"])
    # An entity neither sampled nor visited is nowhere in the answer: its size follows the draw's result.
    named = {u for p in rec["plans"] for s in p["strata"] for u in s["sample"]} | {t["uscc"] for t in rec["targets"]}
    unnamed = [u for m in by_class.values() for u in m if u not in named]
    assert unnamed and not [u for u in unnamed if u in answer.text]

    # Each population's members: the bytes whose SHA-256 is its digest (served in slices of 64 bytes here).
    for pop in rec["populations"]:
        r = await service.get(f"/public/draws/{draw_id}/populations/0/{pop['credit_class']}")
        assert r.status_code == 200 and r.headers["content-type"] == "text/plain; charset=utf-8", r.text
        assert r.content == "\n".join(by_class[pop["credit_class"]]).encode() and len(r.content) > 64
        assert hashlib.sha256(r.content).hexdigest() == pop["digest"]
        assert int(r.headers["content-length"]) == len(r.content)
    # A class the population has no member of, a population the draw did not keep, a draw that does not exist.
    for path in (f"{draw_id}/populations/0/A", f"{draw_id}/populations/1/B", "DR-000000000000/populations/0/B"):
        r = await service.get(f"/public/draws/{path}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert (await service.get(f"/public/draws/{draw_id}/populations/0/E")).status_code == 422
    # a number beyond the published bound: 422 naming it (it reached the database, which refused it: 400)
    assert (await service.get(f"/public/draws/{draw_id}/populations/{2**31}/B")).status_code == 422

    # What a verifier does: the record with those members replays to the identical result.
    kept = {(0, c): "\n".join(m).encode() for c, m in by_class.items()}
    assert joint.verify(rec, kept) == []
    assert joint.verify(rec, {**kept, (0, "C"): kept[(0, "C")][:-1]}) == [
        "population 0 class C: the members given do not match its snapshot"]


async def test_the_verify_command_fetches_the_members_from_the_draws_public_address(service, tmp_path):
    draw_id, _ = await _drawn(service)
    answer = (await service.get(f"/public/draws/{draw_id}")).json()
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer))
    tampered = tmp_path / "tampered.json"
    changed = json.loads(json.dumps(answer))
    changed["record"]["populations"][-1]["digest"] = "0" * 64
    tampered.write_text(json.dumps(changed))

    async def verify(*args: str) -> tuple[int, str]:
        with contextlib.redirect_stdout(io.StringIO()) as said:
            code = await asyncio.to_thread(cli, ["verify", *args])   # the command's own client, over the network
        return code, said.getvalue()

    async with service.serving() as base:
        address = f"{base}/public/draws/{draw_id}"
        code, said = await verify(address)
        assert code == 0 and "verified" in said and "identical result" in said, said
        code, said = await verify(str(path))   # a file alone: the members are not in it
        assert code == 2 and "--from" in said, said
        code, said = await verify(str(path), "--from", address)
        assert code == 0 and "verified" in said, said
        code, said = await verify(str(tampered), "--from", address)
        assert code == 1 and "do not match its snapshot" in said, said
        code, said = await verify(f"{base}/public/draws/DR-000000000000")
        assert code == 2 and "404" in said, said


async def test_a_closed_draw_keeps_its_record_rendered_and_serves_those_bytes(service):
    """The record was kept as JSONB only, parsed whole and serialised again for every caller (a joint draw over a
    million entities: a 106 MB record, 6 s and 1 GB of memory per answer, the pod's limit half that). A draw closed
    now keeps the record rendered, and its answer streams those bytes (in slices of 256 here): the same answer."""
    draw_id, _ = await _drawn(service)
    async with service.deps.db.reading() as session:
        row = (await session.execute(text(
            "SELECT d.record, r.rendered FROM draws d LEFT JOIN draw_records r ON r.draw_id = d.id WHERE d.id = :id"),
            {"id": draw_id})).one()
    assert row.rendered is not None, "a draw performed keeps its record rendered"
    expected = served_record.published(row.record)
    assert json.loads(row.rendered) == expected
    answer = await service.get(f"/public/draws/{draw_id}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json", answer.text
    assert int(answer.headers["content-length"]) == len(answer.content) > 256 * 4
    got = answer.json()
    assert got["record"] == expected and got["status"] == "performed" and got["draw_id"] == draw_id
    assert got["seed_hash"] == draw.seed_hash(got["seed"]) and got["reason"] is None and got["closed_at"]

    # A draw closed before records were kept rendered: its record rendered when asked, the same answer.
    async with service.deps.db.transaction() as session:
        await session.execute(text("DELETE FROM draw_records WHERE draw_id = :id"), {"id": draw_id})
    earlier = await service.get(f"/public/draws/{draw_id}")
    assert earlier.status_code == 200 and earlier.json() == got

    # Abandoned, the same record kept, under its new status and reason.
    draw_id, _ = await _drawn(service)
    r = await service.post(f"/draws/{draw_id}/abandon", dept(SAMR), {"reason": "重新抽取"})
    assert r.status_code == 200, r.text
    got = (await service.get(f"/public/draws/{draw_id}")).json()
    assert (got["status"], got["reason"]) == ("abandoned", "重新抽取") and got["record"]["targets"]
    async with service.deps.db.reading() as session:
        rec = (await session.execute(text("SELECT record FROM draws WHERE id = :id"), {"id": draw_id})).scalar_one()
    assert got["record"] == served_record.published(rec)
