"""The office's configuration routes: keyword routing rules can be added, changed and disabled."""

from __future__ import annotations

from jsp_testkit.testing import OFFICE, unique



async def test_the_office_changes_and_disables_a_routing_rule(service):
    keyword = unique("关键词")[:50]
    added = await service.client.post("/routing-rules", headers=OFFICE,
                                      json={"keyword": keyword, "domain": "food", "lead_agency": "samr"})
    assert added.status_code == 201, added.text
    rule_id = added.json()["id"]

    changed = await service.client.patch(f"/routing-rules/{rule_id}", headers=OFFICE,
                                         json={"priority": 5, "co_agencies": ["mem"]})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["priority"], changed.json()["co_agencies"]) == (5, ["mem"])
    disabled = await service.client.patch(f"/routing-rules/{rule_id}", headers=OFFICE, json={"enabled": False})
    assert disabled.status_code == 200, disabled.text
    listed = {r["id"]: r for r in (await service.client.get("/routing-rules", headers=OFFICE)).json()}
    assert listed[rule_id]["enabled"] is False and listed[rule_id]["keyword"] == keyword

    missing = await service.client.patch("/routing-rules/2147483647", headers=OFFICE, json={"enabled": False})
    assert missing.status_code == 404, missing.text


def test_each_path_parameter_is_published_under_its_own_name():
    from clues.api.routes import router
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router)
    doc = app.openapi()["paths"]
    assert [p["name"] for p in doc["/routing-rules/{rule_id}"]["patch"]["parameters"] if p["in"] == "path"] == ["rule_id"]
    assert {p["name"] for p in doc["/clues/{clue_id}/extensions/{ext_id}/decision"]["post"]["parameters"]
            if p["in"] == "path"} == {"clue_id", "ext_id"}
