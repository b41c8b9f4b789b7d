"""The abnormal-operation directory and the time since the last inspection as indicators, and the targeted
inspection a level's response plan asks for, on its own topic (real Kafka and PostgreSQL)."""

from __future__ import annotations

from jsp_common import clock
from jsp_common.outbox import SessionTx
from jsp_testkit.testing import OFFICE, of_type, tail, unique

from jsp_testkit.samples import new_uscc

from risk.usecases import scoring

ALERTS = "risk.alerts.v1"
LISTINGS = "market.abnormal-operations.v1"
LISTINGS_DLQ = "market.abnormal-operations.v1.dlq.risk.indicators"
REQUESTS = "risk.inspection-requests.v1"
SAMR, NHC = "samr-410100", "nhc-410100"


async def list_abnormal(service, uscc: str, listing: str | None = None) -> str:
    listing = listing or unique("AB")
    await service.send(LISTINGS, "market.abnormal-operation.listed.v1", {
        "listing_id": listing, "uscc": uscc, "cause": "not_at_registered_address",
        "listed_on": clock.today().isoformat(), "authority": "郑州市金水区市场监督管理局",
        "occurred_at": clock.now().isoformat()}, uscc)
    return listing


async def remove_abnormal(service, uscc: str, listing: str) -> None:
    await service.send(LISTINGS, "market.abnormal-operation.removed.v1", {
        "listing_id": listing, "uscc": uscc, "removed_on": clock.today().isoformat(), "reason": "已补报年报",
        "occurred_at": clock.now().isoformat()}, uscc)


async def save_model(service, model: dict, note: str) -> None:
    r = await service.post("/models", OFFICE, {"model": model, "note": note})
    assert r.status_code == 201, r.text


async def test_a_removal_counts_while_the_model_in_force_lacks_the_listing_indicator(service, bootstrap):
    """Listed, then a model version without the abnormal-operation indicator, the removal meanwhile, and a version
    bringing the indicator back: the removed listing counts no more."""
    uscc = new_uscc()
    await service.entity(uscc, [SAMR])
    model = (await service.client.get("/models/current", headers=OFFICE)).json()["model"]
    async with tail(bootstrap, ALERTS) as t:
        listing = await list_abnormal(service, uscc)
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"))
        await save_model(service, {**model, "indicators": [
            i for i in model["indicators"] if i["source"] != "abnormal_operation_listed"]}, "no listings")
        try:
            await remove_abnormal(service, uscc, listing)
            await t.wait_for(of_type("risk.alert.closed.v1", uscc=uscc, reason="score_fell"))
        finally:
            await save_model(service, model, "listings back")
    async with service.deps.db.transaction() as session:
        again = (await scoring.rescore(service.deps, SessionTx(session, "/test"), [uscc], now=clock.now()))[uscc]
    assert again.score == 0 and "abnormal_operation" not in again.counts


async def test_a_listing_in_the_abnormal_operation_directory_counts_until_its_removal(service, bootstrap):
    uscc = new_uscc()
    await service.entity(uscc, [SAMR])
    async with tail(bootstrap, ALERTS) as t:
        listing = await list_abnormal(service, uscc)
        raised = (await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue")))[0].envelope.data
        assert {c["indicator"]: c["points"] for c in raised["contributions"]} == {"abnormal_operation": 20}
        standing = await service.standing(uscc)
        # never inspected: the time since the last inspection counts (weight 0 in the starter model: no points)
        assert standing["counts"] == {"abnormal_operation": 1.0, "not_inspected_year": 1.0}

        await remove_abnormal(service, uscc, listing)
        closed = await t.wait_for(of_type("risk.alert.closed.v1", uscc=uscc, reason="score_fell"))
        assert closed[0].envelope.data["alert_id"] == raised["alert_id"]
    standing = await service.standing(uscc)
    assert standing["score"] == 0 and standing["counts"] == {"not_inspected_year": 1.0}


async def observed_refs(service, uscc: str) -> set[str]:
    from sqlalchemy import select
    from risk.adapters.tables import observations
    async with service.deps.db.transaction() as s:
        return set((await s.execute(select(observations.c.ref).where(observations.c.uscc == uscc))).scalars())


async def test_a_removal_that_comes_before_its_listing_is_kept(service):
    """The bureau's removal is applied before its listing (a replay): the listing, when it comes, does
    not count (it counted for the indicator's 3650 days, the removal lost). A listing after it counts."""
    from jsp_testkit.testing import wait_until

    uscc, early, later = new_uscc(), unique("AB"), unique("AB")
    await service.entity(uscc, [SAMR])
    await remove_abnormal(service, uscc, early)
    await list_abnormal(service, uscc, early)
    await list_abnormal(service, uscc, later)  # the same partition, after them

    async def later_counted() -> bool:
        return f"abnormal:{later}" in await observed_refs(service, uscc)
    await wait_until(later_counted, what="the later listing counted")
    assert f"abnormal:{early}" not in await observed_refs(service, uscc)
    assert (await service.standing(uscc))["counts"]["abnormal_operation"] == 1.0


async def test_a_listing_or_removal_naming_another_entity_goes_to_the_dead_letter_topic(service, bootstrap):
    """B's removal under A's listing id removed A's listing; B's listing under it was dropped unseen. Both are
    refused with the reason, and A's listing still counts."""
    a, b = new_uscc(), new_uscc()
    await service.entity(a, [SAMR])
    async with tail(bootstrap, ALERTS, LISTINGS_DLQ) as t:
        listing = await list_abnormal(service, a)
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=a, level="blue"))
        await remove_abnormal(service, b, listing)
        await list_abnormal(service, b, listing)
        dead = await t.wait_for(lambda m: m.topic == LISTINGS_DLQ and m.key == b, count=2)
    reasons = {m.envelope.type: m.headers["dlq.reason"].decode() for m in dead}
    assert reasons["market.abnormal-operation.removed.v1"] == (
        f"listing {listing} belongs to entity {a}, not {b}: a removal names the listing_id and the uscc of the "
        "listing it ends")
    assert reasons["market.abnormal-operation.listed.v1"].startswith(
        f"listing_id {listing} is held by a listing of entity {a}, not {b}: a listing_id names one listing of one "
        "entity")
    assert (await service.standing(a))["counts"]["abnormal_operation"] == 1.0
    assert await service.standing(b) is None
    assert [m for m in t.received if m.topic == ALERTS and m.envelope.data.get("uscc") == a
            and m.envelope.type != "risk.alert.raised.v1"] == []  # A's alert stands


async def test_a_listing_or_removal_not_keyed_by_its_uscc_goes_to_the_dead_letter_topic(service, bootstrap):
    """A listing sent without a key (kcat without -K) and a removal under another key land on any partition, where
    they would be applied out of order with the entity's other listings and removals. Both are refused with the
    reason and change nothing: the listing, sent again under its USCC, counts."""
    uscc, listing = new_uscc(), unique("AB")
    await service.entity(uscc, [SAMR])
    listed = {"listing_id": listing, "uscc": uscc, "cause": "not_at_registered_address",
              "listed_on": clock.today().isoformat(), "authority": "郑州市金水区市场监督管理局",
              "occurred_at": clock.now().isoformat()}
    removed = {"listing_id": listing, "uscc": uscc, "removed_on": clock.today().isoformat(), "reason": "已补报年报",
               "occurred_at": clock.now().isoformat()}
    async with tail(bootstrap, ALERTS, LISTINGS_DLQ) as t:
        await service.send(LISTINGS, "market.abnormal-operation.listed.v1", listed, None)
        await service.send(LISTINGS, "market.abnormal-operation.removed.v1", removed, listing)
        dead = await t.wait_for(
            lambda m: m.topic == LISTINGS_DLQ and listing in m.headers["dlq.reason"].decode(), count=2)
        reasons = {m.key: m.headers["dlq.reason"].decode() for m in dead}  # each with its key as it arrived
        assert set(reasons) == {None, listing}
        assert reasons[None] == (
            f"listing {listing} of entity {uscc} sent with no key: the key must be the uscc ('{uscc}'), so that an "
            "entity's listings and removals stay on one partition, in order (kcat: -K)")
        assert reasons[listing].startswith(
            f"removal {listing} of entity {uscc} sent with key '{listing}': the key must be the uscc ('{uscc}')")
        assert await service.standing(uscc) is None
        # nothing recorded against the listing id: the listing, keyed right, counts (the removal came to nothing)
        await list_abnormal(service, uscc, listing)
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="blue"))
    assert (await service.standing(uscc))["counts"]["abnormal_operation"] == 1.0
    assert await observed_refs(service, uscc) >= {f"abnormal:{listing}"}


async def test_an_orange_alert_asks_the_responsible_departments_for_a_targeted_inspection(service, bootstrap):
    uscc = new_uscc()
    await service.entity(uscc, [SAMR, NHC])
    async with tail(bootstrap, ALERTS, REQUESTS) as t:
        # two failed items (20 each): yellow, no inspection asked; the inspection resets the time since the last
        await service.inspection(uscc, [SAMR], ["correction_ordered", "correction_ordered"], unique("T"))
        await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="yellow"))
        assert (await service.standing(uscc))["counts"] == {"inspection_items_failed": 2.0}
        # listed as abnormal (20): 60, orange, whose plan requests an inspection
        await list_abnormal(service, uscc)
        orange = (await t.wait_for(of_type("risk.alert.raised.v1", uscc=uscc, level="orange")))[0]
        asked = (await t.wait_for(lambda m: m.topic == REQUESTS and of_type("risk.inspection.requested.v1",
                                                                           uscc=uscc)(m)))[0]
    data = asked.envelope.data
    assert asked.key == uscc
    assert data["alert_id"] == orange.envelope.data["alert_id"] and data["request_id"] == f"alert:{data['alert_id']}"
    assert data["level"] == "orange" and data["score"] == 60 and data["departments"] == [NHC, SAMR]
    assert "abnormal_operation" in data["reason"] and data["respond_by"] is not None
    asked_about = [m for m in t.received if m.topic == REQUESTS and m.envelope.data["uscc"] == uscc]
    assert len(asked_about) == 1  # yellow's plan asks for none
