"""A full re-scoring and the risk model's dry-run reach every active business of the directory replica, also one
nothing was ever observed about: "not inspected for a year" counts from the start (real Kafka and PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from jsp_common import clock
from jsp_common.outbox import SessionTx
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, of_type, tail, wait_until

from risk.adapters import repository as repo
from risk.usecases import scoring
from risk.usecases.models import rescore_all

# A database of its own: a full re-scoring under a model that weighs "not inspected" reaches every entity of the
# directory, other modules' too.
RISK_DATABASE = "risk_test_rescore_directory"
ALERTS = "risk.alerts.v1"
CLASSES = "risk.credit-classes.v1"
SAMR = "samr-410100"
SAMR_ALERTS = f"dept.{SAMR}.alerts.v1"


async def in_directory(service, uscc: str) -> dict | None:
    async with service.deps.db.transaction() as s:
        return await repo.entity(s, uscc)


async def dry_run(service, model: dict) -> dict:
    r = await service.post("/models/dry-run", OFFICE, model)
    assert r.status_code == 200, r.text
    return r.json()


async def levels(service, model: dict) -> dict[str, tuple[int, int]]:
    """The dry-run of ``model``: per level, (proposed, current)."""
    return {row["level"]: (row["proposed"], row["current"]) for row in (await dry_run(service, model))["levels"]}


async def test_a_business_nothing_was_observed_about_is_rescored_and_counted_by_the_dry_run(service, bootstrap):
    uscc, closed = new_uscc(), new_uscc()
    found = (await service.client.get("/models/current", headers=OFFICE)).json()["model"]

    def weighing_not_inspected(points: int) -> dict:
        return {**found, "indicators": [{**i, "weight": points} if i["code"] == "not_inspected_year" else i
                                        for i in found["indicators"]]}
    # in force: "not inspected for a year" gives no points, as in the starter model (an earlier run of this test
    # left its 40 points in force, under which the business is yellow already)
    r = await service.post("/models", OFFICE, {"model": weighing_not_inspected(0), "note": "not inspected: 0"})
    assert r.status_code == 201, r.text
    # the office gives "not inspected for a year" 40 points: yellow, class C
    model = weighing_not_inspected(40)
    before = await levels(service, model)
    # registered in 2020 and never inspected, no clue, nothing observed at all: in the directory, no standing;
    # beside it a deregistered business, which no re-scoring takes up
    await service.entity(uscc, [SAMR])
    await service.entity(closed, [SAMR], status="deregistered")
    for u in (uscc, closed):
        await wait_until(lambda: in_directory(service, u), what="the directory replicated")
    assert await service.standing(uscc) is None

    # the dry-run counts it: yellow under the proposal, no level under the model in force
    after = await levels(service, model)
    assert after["yellow"] == (before["yellow"][0] + 1, before["yellow"][1])
    assert after["none"] == (before["none"][0], before["none"][1] + 1)
    assert (await dry_run(service, model))["without_standing"] >= 1  # the office is told it holds no level yet

    r = await service.post("/models", OFFICE, {"model": model, "note": "not inspected for a year: 40 points"})
    assert r.status_code == 201, r.text
    async with tail(bootstrap, ALERTS, SAMR_ALERTS, CLASSES) as t:
        done = await rescore_all(service.deps)
        # its standing row, scored as the model says: yellow, class C
        standing = await service.standing(uscc)
        assert standing is not None and standing["score"] == 40 and standing["level"] == "yellow"
        assert standing["counts"] == {"not_inspected_year": 1.0} and standing["model_version"] == done["model_version"]
        assert standing["computed_class"] == standing["credit_class"] == "C"
        raised = await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="yellow"), count=2)
        changed = (await t.wait_for(of_type("risk.credit-class.changed.v1", uscc=uscc)))[0].envelope.data
    assert done["model_version"] == r.json()["version"] and done["entities"] >= 1
    assert {m.topic for m in raised} == {ALERTS, SAMR_ALERTS}
    alert = raised[0].envelope.data
    assert alert["departments"] == [SAMR]
    assert {c["indicator"]: c["points"] for c in alert["contributions"]} == {"not_inspected_year": 40}
    assert changed["credit_class"] == "C" and changed["previous_class"] is None and changed["score"] == 40
    assert await service.standing(closed) is None
    # the dry-run and the re-scoring agree: under the model now in force, the proposal is where things are
    assert (await levels(service, model))["yellow"] == (after["yellow"][0], after["yellow"][0])
    assert (await dry_run(service, model))["without_standing"] == 0


async def count_a_clue(service, session, uscc: str, ref: str) -> None:
    """A clue about the business counted in ``session`` (what the clue events' handler records); ``ref`` names the
    clue (counted once, whichever business)."""
    await scoring.observe(service.deps, SessionTx(session, "/test"), [
        {"uscc": uscc, "indicator": "clues_received", "ref": ref, "at": clock.now()}], now=clock.now())


async def waiting_on_a_lock(service) -> bool:
    async with service.deps.db.transaction() as s:
        return bool((await s.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ))).scalar_one())


async def test_a_clue_counted_while_a_rescoring_runs_is_not_overwritten_by_it(service):
    uscc = new_uscc()
    await service.entity(uscc, [SAMR])
    async with service.deps.db.transaction() as s:
        await count_a_clue(service, s, uscc, f"{uscc}-1")
    assert (await service.standing(uscc))["counts"]["clues_received"] == 1.0
    # a second clue is being counted (its standing locked, not yet committed) when a full re-scoring reaches the
    # business: the re-scoring waits for it and counts it, rather than writing its older count over it
    async with service.deps.db.transaction() as s:
        await count_a_clue(service, s, uscc, f"{uscc}-2")
        rescoring = asyncio.create_task(rescore_all(service.deps))
        await wait_until(lambda: waiting_on_a_lock(service), what="the re-scoring waiting for the business's lock")
    await rescoring
    assert (await service.standing(uscc))["counts"]["clues_received"] == 2.0
