"""A service behind the gateway stopped: entity 360 degrades and says what is missing; other routes answer a
clear 503 at once (no hang); all is whole again when the service is back."""

from __future__ import annotations

import httpx

from jsp_testkit.testing import wait_until

from jsp_testkit import samples

QUICK = httpx.Timeout(15.0)  # a guard against hanging, not a speed assertion


async def test_a_stopped_service_degrades_entity_360_and_gives_clear_503s(stack, front, office, clients):
    bureau = await clients.system("bureau")
    data = samples.registration()
    sent = await front.post("/ingest/registrations", headers=bureau["headers"],
                            json={"type": "market.entity.registered.v1", "data": data})
    assert sent.status_code == 202, sent.text

    async def registered():
        return (await front.get(f"/registry/entities/{data['uscc']}", headers=office["headers"])).status_code == 200
    await wait_until(registered, timeout=60, what="the registry to have the entity")

    stack.stop("clues")
    try:
        partial = await front.get(f"/entities/{data['uscc']}/360", headers=office["headers"], timeout=QUICK)
        assert partial.status_code == 200, partial.text
        body = partial.json()
        assert body["complete"] is False and body["registry"]["uscc"] == data["uscc"] and body["clues"] is None
        assert [m["part"] for m in body["missing"]] == ["clues"]
        assert "unavailable" in body["missing"][0]["reason"]
        unknown = await front.get(f"/entities/{samples.new_uscc('410102')}/360", headers=office["headers"],
                                  timeout=QUICK)
        assert unknown.status_code == 404  # the registry still decides whether the entity exists
        down = await front.get("/clues/clues", headers=office["headers"], timeout=QUICK)
        assert down.status_code == 503
        assert down.headers["content-type"].startswith("application/problem+json")
        assert "clues service is unavailable" in down.json()["detail"]
        post = await front.post("/clues/clues/x1/accept", headers=office["headers"], timeout=QUICK)
        assert post.status_code in (403, 503)  # the office may not accept; the role check needs no service
        assert (await front.get("/registry/rules", headers=office["headers"], timeout=QUICK)).status_code == 200
        doc = (await front.get("/openapi.json", timeout=QUICK)).json()
        assert doc["x-jsp-services"]["registry"] == "merged"
    finally:
        stack.start("clues")
    again = await front.get("/clues/clues", headers=office["headers"], timeout=QUICK)
    assert again.status_code == 200
