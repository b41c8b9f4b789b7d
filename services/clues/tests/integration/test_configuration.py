"""The office's configuration routes: keyword routing rules can be added, changed and disabled."""

from __future__ import annotations

from datetime import datetime

from jsp_common.clock import TZ
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import OFFICE, of_type, tail, unique



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


async def test_a_work_order_category_has_the_handling_limit_the_office_sets_for_it(service, bootstrap):
    """Inquiries 3 and complaints 13 working days in one bureau: a policy may name the work order's category, and
    wins over the general one; the policies kept before are the general ones (category *)."""
    complaint = unique("投诉")[:30]  # this test's own category: the policies are shared by the module's tests
    put = await service.client.put("/deadline-policies", headers=OFFICE,
                                   json={"channel": "*", "urgency": "normal", "category": complaint, "workdays": 13})
    assert put.status_code == 200 and put.json()["category"] == complaint, put.text
    listed = {(p["channel"], p["urgency"], p["category"]): p["workdays"]
              for p in (await service.client.get("/deadline-policies", headers=OFFICE)).json()}
    assert listed[("*", "normal", complaint)] == 13 and listed[("*", "normal", "*")] == 5

    deadlines = {}
    async with tail(bootstrap, "dept.samr-410100.clues.v1") as t:
        for category, content in ((complaint, "郑州市金水区某饭店出售变质食品，要求查处。"),
                                  (unique("建议"), "郑州市金水区某餐厅后厨发霉，建议加强检查。")):
            no = unique("WO")
            await service.work_order(no, content, category=category, address="河南省郑州市金水区",
                                     uscc=new_uscc("410105"), received_at="2025-09-30T10:00:00+08:00")
            [d] = await t.wait_for(of_type("clues.clue.dispatched.v1", channel_ref=no))
            deadlines[category == complaint] = datetime.fromisoformat(d.envelope.data["deadline"])
    # received Tue 30 Sep 2025 (1-8 Oct holidays, Sat 11 Oct a make-up working day)
    assert deadlines == {True: datetime(2025, 10, 24, 23, 59, 59, tzinfo=TZ),     # the complaint: 13 working days
                         False: datetime(2025, 10, 14, 23, 59, 59, tzinfo=TZ)}    # another category: the general 5


def test_each_path_parameter_is_published_under_its_own_name():
    from clues.api.routes import router
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router)
    doc = app.openapi()["paths"]
    assert [p["name"] for p in doc["/routing-rules/{rule_id}"]["patch"]["parameters"] if p["in"] == "path"] == ["rule_id"]
    assert {p["name"] for p in doc["/clues/{clue_id}/extensions/{ext_id}/decision"]["post"]["parameters"]
            if p["in"] == "path"} == {"clue_id", "ext_id"}
