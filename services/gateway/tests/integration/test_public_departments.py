"""The published list of departments (GET /public/departments), which department systems are pointed to for the
names of the topics they subscribe to: each department's every topic of its own is there."""

from __future__ import annotations

from jsp_common import departments
from jsp_common.topics import CATALOGUE, DEPARTMENT_PREFIX, department_topic

TEMPLATES = [t.name for t in CATALOGUE if t.per_department]


async def test_every_topic_of_a_department_is_published_for_it(gw):
    answer = await gw.http.get("/public/departments")  # no token
    assert answer.status_code == 200, answer.text
    listed = {d["code"]: d for d in answer.json()}
    assert listed.keys() == {d.code for d in departments.all_departments()}
    assert len(TEMPLATES) >= 4
    for code, department in listed.items():
        assert department["topics"] == [department_topic(t, code) for t in TEMPLATES], code
        for template in TEMPLATES:  # and each by name: notifications_topic, clues_topic, inspections_topic, ...
            kind = template.removeprefix(DEPARTMENT_PREFIX).split(".")[0]
            assert department.get(f"{kind}_topic") == department_topic(template, code), (code, kind)
