"""Bulk import through COPY (also while the intake changes the same entities), and the rules API (publish,
dry-run, re-assessment)."""

from __future__ import annotations

import asyncio
import csv
import random
from dataclasses import replace

from jsp_testkit.testing import of_type, tail, until_waiting_or_done, wait_until
from jsp_common import clock
from jsp_common.cached import Refreshing
from jsp_common.topics import NOTIFICATIONS, REGISTRY_ADJUDICATION as ADJ, department_topic
from registry.adapters import entities as records, rules as rule_sets
from registry.usecases import directory
from registry.usecases.bulk_import import run_import

HEADER = ["uscc", "name", "entity_type", "legal_representative", "address", "division_code", "industry_code",
          "business_scope", "licences", "established_on", "approved_on", "status", "closed_on",
          "registration_authority"]


def write_csv(path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerows(rows)


def row(code, **over):
    base = dict(uscc=code, name="洛阳市老城区某某超市", entity_type="个体工商户", legal_representative="李四",
                address="河南省洛阳市老城区中州东路1号", division_code="410302", industry_code="5212",
                business_scope="食品经营（销售预包装食品）；日用百货销售", licences="食品经营许可证",
                established_on="2019-05-06", approved_on="", status="存续", closed_on="", registration_authority="")
    return {**base, **over}


async def test_bulk_import_loads_good_rows_rejects_bad_ones_and_can_be_rerun(registry, registry_settings, kit,
                                                                            tmp_path):
    good = [kit.new_uscc("410302") for _ in range(5)]
    wrong = kit.new_uscc("410302")
    wrong = wrong[:-1] + ("0" if wrong[-1] != "0" else "1")
    unmatched = kit.new_uscc("410302")
    closed_unmatched = kit.new_uscc("410302")   # a business closed long ago that no rule matches: no case for it
    rows = [row(c) for c in good] + [row(closed_unmatched, industry_code="7215", business_scope="企业管理咨询",
                                         licences="", status="注销", closed_on="2021-06-01")] + [
        row(wrong), row(kit.new_uscc(), division_code="419999"), row(kit.new_uscc(), established_on="2019-02-30"),
        row(kit.new_uscc(), industry_code="9999"), row(unmatched, industry_code="7215", business_scope="企业管理咨询",
                                                      licences=""),
        row(good[0], name="洛阳市老城区某某超市（更名）", approved_on="2020-01-01"),  # a later line for the same entity
        # as the contract states a licence (every event from the record carries it), and a name of blanks
        row(kit.new_uscc("410302"), licences='[{"type": "食品经营许可证", "number": "JY141", "valid_until": "长期"}]'),
        row(kit.new_uscc("410302"), name="   "),
    ]
    path = tmp_path / "directory.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerows(rows)
    rejects = tmp_path / "rejects.csv"
    indexes = "SELECT string_agg(indexdef, '; ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'entities'"
    indexes_before = await registry.fetchval(indexes)

    report = await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False)
    assert (report.read, report.loaded, report.rejected) == (14, 8, 6)
    assert (report.inserted, report.updated, report.adjudication_cases) == (7, 0, 1)
    with rejects.open(encoding="utf-8") as fh:
        bad = {(r["line"], r["field"]) for r in csv.DictReader(fh)}
    assert bad == {("8", "uscc"), ("9", "division_code"), ("10", "established_on"), ("11", "industry_code"),
                   ("14", "licences.0.valid_until"), ("15", "name")}

    office = kit.OFFICE
    first = (await registry.call("GET", f"/entities/{good[0]}", office)).json()
    assert first["name"] == "洛阳市老城区某某超市（更名）"
    assert first["responsible_departments"] == ["samr-410300"]
    assert (await registry.call("GET", f"/entities/{unmatched}", office)).json()["assignment_state"] == "adjudication"
    closed = (await registry.call("GET", f"/entities/{closed_unmatched}", office)).json()
    assert (closed["status"], closed["assignment_state"]) == ("deregistered", "assigned")

    again = await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False,
                             rebuild_indexes=True, workers=1)
    assert (again.inserted, again.updated, again.unchanged, again.adjudication_cases) == (0, 0, 7, 0)
    # A load may rebuild the directory's indexes rather than maintain them row by row: they are all back.
    assert await registry.fetchval(indexes) == indexes_before
    # The service's replicate job publishes the imported records for replicas.
    await wait_until(lambda: registry.fetchval(
        "SELECT count(*) = 0 FROM entities WHERE published_version < version AND uscc = ANY($1::text[])",
        good + [unmatched]), what="imported records published")


async def test_an_import_that_assigns_or_closes_a_waiting_entity_withdraws_its_case(registry, registry_settings,
                                                                                   kit, tmp_path, bootstrap):
    """Entities no rule matched wait for the office; a later import's row the rules match, or of the business
    deregistered, assigned or closed them but left their cases open: the office still saw them in its queue, and
    deciding one overrode the import's assignment and told departments to supervise a deregistered business."""
    matched, closed = kit.new_uscc("410302"), kit.new_uscc("410302")
    consulting = dict(industry_code="7215", business_scope="企业管理咨询", licences="")
    path, rejects = tmp_path / "directory.csv", tmp_path / "rejects.csv"
    write_csv(path, [row(matched, **consulting), row(closed, **consulting)])
    async with tail(bootstrap, ADJ) as t:
        first = await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False, workers=1)
        assert first.adjudication_cases == 2
        # The office's queue on its topic has them (the service's replicate job publishes what the import opened).
        requested = await t.wait_for(kit.mine(lambda m: of_type("registry.adjudication.requested.v1")(m)
                                              and m.key in (matched, closed)), count=2, what="the cases requested")
    opened = {c: await registry.fetchval("SELECT id FROM adjudication_cases WHERE uscc = $1 AND status = 'open'", c)
              for c in (matched, closed)}
    assert {m.key: (m.envelope.data["case_id"], m.envelope.data["name"], m.envelope.data["reason"])
            for m in requested} == {c: (case_id, "洛阳市老城区某某超市", "no_rule_matched")
                                    for c, case_id in opened.items()}

    # A food shop now (the market regulator's), and the other deregistered.
    write_csv(path, [row(matched, approved_on="2020-01-01"),
                     row(closed, **consulting, approved_on="2020-01-01", status="注销", closed_on="2021-06-01")])
    async with tail(bootstrap, ADJ) as t:
        again = await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False, workers=1)
        assert (again.updated, again.adjudication_cases, again.cases_withdrawn) == (2, 0, 2)
        # ... and learns they were withdrawn, or it would list them as waiting for good.
        withdrawn = await t.wait_for(kit.mine(lambda m: of_type("registry.adjudication.withdrawn.v1")(m)
                                              and m.key in (matched, closed)), count=2, what="the cases withdrawn")
    assert {m.key: (m.envelope.data["case_id"], m.envelope.data["reason"], m.envelope.data["withdrawn_by"])
            for m in withdrawn} == {c: (case_id, "no longer needed after import", "import")
                                    for c, case_id in opened.items()}
    assert not [m for m in t.received if kit.mine(of_type("registry.adjudication.requested.v1"))(m)
                and m.key in (matched, closed)]  # requested once
    office = kit.OFFICE
    entity = (await registry.call("GET", f"/entities/{matched}", office)).json()
    assert (entity["assignment_state"], entity["responsible_departments"]) == ("assigned", ["samr-410300"])
    for code, case_id in opened.items():
        case = (await registry.call("GET", f"/adjudication/{case_id}", office)).json()
        assert case["status"] == "withdrawn", case
        decided = await registry.call("POST", f"/adjudication/{case_id}/decision", office,
                                      json={"departments": ["mofcom-410300"]})
        assert decided.status_code == 409, decided.text
        history = (await registry.call("GET", f"/entities/{code}/history", office)).json()
        assert {"action": "adjudication_withdrawn", "actor": "import",
                "details": {"case_id": case_id, "cause": "import"}}.items() <= history["decisions"][-1].items()
    entity = (await registry.call("GET", f"/entities/{matched}", office)).json()
    assert (entity["assignment_source"], entity["responsible_departments"]) == ("rules", ["samr-410300"])


async def test_an_import_keeps_an_office_decision_in_its_city_and_moved_elsewhere_lets_the_rules_decide(
        registry, registry_settings, kit, tmp_path):
    """The import kept every office decision whatever its row said: an entity the office gave to Luoyang's commerce
    bureau that the register showed moved to Zhengzhou stayed with Luoyang's, and every later change there kept it
    (the decision stood since the city no longer changed)."""
    stays, moves = kit.new_uscc("410302"), kit.new_uscc("410302")
    consulting = dict(industry_code="7215", business_scope="企业管理咨询", licences="")
    path, rejects = tmp_path / "directory.csv", tmp_path / "rejects.csv"
    write_csv(path, [row(stays, **consulting), row(moves, **consulting)])
    await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False, workers=1)
    for code in (stays, moves):
        case_id = await registry.fetchval("SELECT id FROM adjudication_cases WHERE uscc = $1 AND status = 'open'", code)
        decided = await registry.call("POST", f"/adjudication/{case_id}/decision", kit.OFFICE,
                                      json={"departments": ["mofcom-410300"]})
        assert decided.status_code == 200, decided.text

    # A food shop now, one in another district of Luoyang, the other in Zhengzhou.
    write_csv(path, [row(stays, division_code="410303", address="河南省洛阳市西工区中州中路1号", approved_on="2020-01-01"),
                     row(moves, division_code="410102", address="河南省郑州市中原区建设路1号", approved_on="2020-01-01")])
    again = await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False, workers=1)
    assert again.updated == 2
    got = {code: (await registry.call("GET", f"/entities/{code}", kit.OFFICE)).json() for code in (stays, moves)}
    assert (got[stays]["assignment_source"], got[stays]["responsible_departments"]) == ("office", ["mofcom-410300"])
    assert (got[moves]["assignment_source"], got[moves]["assignment_state"], got[moves]["responsible_departments"]) \
        == ("rules", "assigned", ["samr-410100"])


async def test_an_import_keeps_a_disputed_entity_waiting_for_the_office_until_the_business_closes(
        registry, registry_settings, kit, tmp_path):
    """A department disputed the entity the rules gave it: an import's newer row of the business made it assigned
    again by the rules (the dispute's case left open, the office's queue and the entity disagreeing); as in the
    intake, it keeps waiting with its department, and a row of the business deregistered withdraws the case."""
    code = kit.new_uscc("410302")
    path, rejects = tmp_path / "directory.csv", tmp_path / "rejects.csv"
    write_csv(path, [row(code)])
    await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False, workers=1)
    r = await registry.call("POST", f"/entities/{code}/disputes", kit.department("samr-410300"),
                            json={"reason": "超市不售散装食品，不属于本部门"})
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    write_csv(path, [row(code, approved_on="2020-01-01", name="洛阳市老城区某某便利店")])
    again = await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False, workers=1)
    assert (again.updated, again.cases_withdrawn) == (1, 0)
    entity = (await registry.call("GET", f"/entities/{code}", kit.OFFICE)).json()
    assert (entity["name"], entity["assignment_state"], entity["responsible_departments"]) == (
        "洛阳市老城区某某便利店", "adjudication", ["samr-410300"])
    assert (await registry.call("GET", f"/adjudication/{case_id}", kit.OFFICE)).json()["status"] == "open"

    write_csv(path, [row(code, approved_on="2021-01-01", status="注销", closed_on="2021-01-01")])
    closed = await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False, workers=1)
    assert closed.cases_withdrawn == 1
    entity = (await registry.call("GET", f"/entities/{code}", kit.OFFICE)).json()
    assert (entity["status"], entity["assignment_state"], entity["responsible_departments"]) == (
        "deregistered", "assigned", ["samr-410300"])
    assert (await registry.call("GET", f"/adjudication/{case_id}", kit.OFFICE)).json()["status"] == "withdrawn"


async def test_rows_that_are_not_the_register_s_text_are_rejected_alone(registry, registry_settings, kit, tmp_path):
    """A NUL in a name, a row saved as GBK, half a surrogate pair escaped in JSON: each made the whole load fail
    (PostgreSQL's COPY refuses a NUL, the chunk could not be decoded or encoded), so no row was loaded. A text
    longer than the bureau's event takes is refused as that event would be."""
    import json

    good = [kit.new_uscc("410302") for _ in range(2)]
    nul, surrogate, long_address = (kit.new_uscc("410302") for _ in range(3))
    lines = [json.dumps(row(good[0]), ensure_ascii=False).encode(),
             json.dumps(row(nul, name="某某\u0000超市")).encode(),
             json.dumps(row(surrogate)).encode().replace(b"\\u6d1b", b"\\ud800"),  # 洛 -> half a pair
             json.dumps(row(kit.new_uscc("410302")), ensure_ascii=False).encode("gbk"),
             json.dumps(row(long_address, address="河" * 501), ensure_ascii=False).encode(),
             json.dumps(row(good[1]), ensure_ascii=False).encode()]
    path, rejects = tmp_path / "directory.jsonl", tmp_path / "rejects.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = await run_import(registry_settings, path, fmt="jsonl", rejects_path=rejects, progress=False)
    with rejects.open(encoding="utf-8") as fh:
        bad = {r["line"]: (r["field"], r["reason"]) for r in csv.DictReader(fh)}
    assert (report.loaded, report.rejected) == (2, 4), bad
    assert bad["2"] == ("name", "holds a NUL character") and bad["5"] == ("address", "at most 500 characters")
    assert bad["3"][1].startswith("not UTF-8 text") and bad["4"][1].startswith("not UTF-8 text")
    assert await registry.fetchval("SELECT count(*) FROM entities WHERE uscc = ANY($1::text[])", good) == 2
    assert await registry.fetchval("SELECT count(*) FROM entities WHERE uscc = ANY($1::text[])",
                                   [nul, surrogate, long_address]) == 0
    # A CSV saved as GBK row by row likewise.
    write_csv(path := tmp_path / "directory.csv", [row(kit.new_uscc("410302"))])
    gbk = ",".join(row(kit.new_uscc("410302")).values()).encode("gbk")
    path.write_bytes(path.read_bytes() + gbk + b"\r\n")
    report = await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False)
    assert (report.loaded, report.rejected) == (1, 1)


async def test_dry_run_evaluates_the_entities_a_changed_rule_may_match_and_those_assigned_under_older_rules(
        registry, registry_settings, kit, tmp_path):
    by_industry, by_licence, by_scope, untouched = (kit.new_uscc("410302") for _ in range(4))
    path = tmp_path / "directory.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerows([row(by_industry, industry_code="8310", business_scope="学前教育服务", licences=""),
                     row(by_licence, industry_code="7215", business_scope="企业管理咨询", licences="研学旅行服务备案证"),
                     row(by_scope, industry_code="7215", business_scope="企业管理咨询；研学旅行策划", licences=""),
                     row(untouched, industry_code="7215", business_scope="企业管理咨询", licences="")])
    report = await run_import(registry_settings, path, fmt="csv", rejects_path=tmp_path / "rejects.csv", progress=False)
    assert report.inserted == 4

    async def moved(rules: list[dict]) -> dict[str, list[str]]:
        dry = await registry.call("POST", "/rules/dry-run", kit.OFFICE, json={"rules": rules}, params={"limit": 10000})
        assert dry.status_code == 200, dry.text
        return {e["uscc"]: e["departments_after"] for e in dry.json()["entities"]}

    # One new rule, matching on a section letter, a licence type and a scope keyword: each finds its entity.
    current = (await registry.call("GET", "/rules", kit.OFFICE)).json()["rules"]
    study_tours = {"id": "study-tours", "domain": "other", "agencies": ["moe"], "match": {
        "industries": ["P"], "licence_types": ["研学旅行"], "scope_keywords": ["研学旅行"]}}
    got = await moved(current + [study_tours])
    assert {c: "moe-410300" in got.get(c, []) for c in (by_industry, by_licence, by_scope, untouched)} == {
        by_industry: True, by_licence: True, by_scope: True, untouched: False}
    # An empty term is in every text: refused, not a rule that takes every entity.
    blank = await registry.call("POST", "/rules/dry-run", kit.OFFICE, json={"rules": current + [
        {**study_tours, "match": {"scope_keywords": ["  "]}}]})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"].endswith("scope_keywords.0"), blank.text

    # Published without re-assessment, the rule set in force has not moved them yet: a dry-run of that very
    # set (no rule changed) still lists them.
    published = await registry.call("PUT", "/rules", kit.OFFICE, json={"rules": current + [study_tours]})
    if published.status_code == 409:  # in a small test directory the new rule moves a large share: confirm it
        published = await registry.call("PUT", "/rules", kit.OFFICE,
                                        json={"rules": current + [study_tours], "confirm": published.json()["confirm"]})
    assert published.status_code == 201, published.text
    in_force = (await registry.call("GET", "/rules", kit.OFFICE)).json()["rules"]
    assert {by_industry, by_licence, by_scope} <= set(await moved(in_force))


async def test_an_import_and_the_intake_changing_the_same_entities_do_not_deadlock(registry, registry_settings, kit,
                                                                                   tmp_path):
    """The intake locks a poll's entities in USCC order; an import listing them in another order must take them in
    that order too, or each waits for the other and the whole import is undone."""
    first, second = sorted(kit.new_uscc("410302") for _ in range(2))
    path, rejects = tmp_path / "directory.csv", tmp_path / "rejects.csv"
    write_csv(path, [row(first), row(second)])
    await run_import(registry_settings, path, fmt="csv", rejects_path=rejects, progress=False)
    write_csv(path, [row(second, name="洛阳市老城区某某超市（二）"), row(first, name="洛阳市老城区某某超市（一）")])

    async with registry.runtime.db.transaction() as s:
        await records.load_record(s, first, lock=True)      # a change of the first under way, as the intake makes
        imported = asyncio.create_task(run_import(registry_settings, path, fmt="csv", rejects_path=rejects,
                                                  progress=False))
        await until_waiting_or_done(registry.runtime.db, imported, what="the import")
        await records.load_record(s, second, lock=True)     # ...which then takes the second
    report = await imported
    assert (report.loaded, report.updated) == (2, 2)
    for code, name in ((first, "洛阳市老城区某某超市（一）"), (second, "洛阳市老城区某某超市（二）")):
        assert (await registry.call("GET", f"/entities/{code}", kit.OFFICE)).json()["name"] == name


async def test_rules_publish_dry_run_and_reassess(registry, raw_producer, bootstrap, kit):
    code = kit.new_uscc("410305")
    data = kit.entity_data(code, division_code="410305", industry_code="5299", business_scope="直播带货；日用百货销售",
                           address="河南省洛阳市涧西区")
    async with tail(bootstrap, "market.registration-receipts.v1") as t:
        await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", data), code)
        [receipt] = await t.wait_for(kit.mine(of_type("registry.registration.accepted.v1", uscc=code)))
    assert receipt.envelope.data["in_adjudication"] is True
    boilers = kit.new_uscc("410305")   # a restaurant with a boiler: samr's for food, its boiler not a rule's yet
    await kit.send(raw_producer, kit.envelope_bytes("market.entity.registered.v1", kit.entity_data(
        boilers, division_code="410305", business_scope="餐饮服务；锅炉使用", address="河南省洛阳市涧西区")), boilers)
    await wait_until(lambda: registry.fetchval("SELECT domains FROM entities WHERE uscc = $1", boilers),
                     what="the restaurant registered")

    current = (await registry.call("GET", "/rules", kit.OFFICE)).json()
    extra = {"id": "live-streaming-ly", "domain": "other", "agencies": ["mofcom"], "divisions": ["410300"],
             "description": "洛阳直播电商由商务部门监管", "match": {"scope_keywords": ["直播带货"]}}
    boiler_use = [{**r, "match": {**r["match"], "scope_keywords": [*r["match"]["scope_keywords"], "锅炉使用"]}}
                  if r["id"] == "special-equipment" else r for r in current["rules"]]
    proposed = boiler_use + [extra]
    assert (await registry.call("PUT", "/rules", kit.department("samr-410100"),
                                json={"rules": proposed})).status_code == 403
    bad = await registry.call("POST", "/rules/dry-run", kit.OFFICE,
                              json={"rules": proposed + [{**extra, "agencies": ["nobody"]}]})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"

    dry = (await registry.call("POST", "/rules/dry-run", kit.OFFICE, json={"rules": proposed},
                               params={"limit": 10000})).json()
    moved = {e["uscc"]: e for e in dry["entities"]}
    assert moved[code]["departments_after"] == ["mofcom-410300"] and moved[code]["departments_now"] == []
    assert (await registry.call("GET", f"/entities/{code}", kit.OFFICE)).json()["responsible_departments"] == []

    topic = department_topic(NOTIFICATIONS, "mofcom-410300")
    async with tail(bootstrap, topic) as t:
        body = {"rules": proposed, "note": "直播电商", "reassess": True}
        r = await registry.call("PUT", "/rules", kit.OFFICE, json=body)
        if r.status_code == 409:  # the test directory is small: the change may move a large share of it
            assert r.json()["confirm"] == dry["confirmation"]["confirm"]  # as the dry-run said
            r = await registry.call("PUT", "/rules", kit.OFFICE, json={**body, "confirm": r.json()["confirm"]})
        assert r.status_code == 201 and r.json()["version"] == current["version"] + 1
        await t.wait_for(kit.mine(lambda m: of_type("registry.notification.issued.v1", cause="rules")(m)
                                  and m.envelope.data["entity"]["uscc"] == code))
    entity = (await registry.call("GET", f"/entities/{code}", kit.OFFICE)).json()
    assert entity["responsible_departments"] == ["mofcom-410300"] and entity["assignment_state"] == "assigned"
    # the restaurant keeps its department and gains the special-equipment domain (it kept food alone: its
    # department did not change, so the re-assessment stamped it as it was)
    await wait_until(lambda: _eq(registry.fetchval("SELECT domains FROM entities WHERE uscc = $1", boilers),
                                 ["food", "special_equipment"]), what="the restaurant's new domain")
    restaurant = (await registry.call("GET", f"/entities/{boilers}", kit.OFFICE)).json()
    assert restaurant["responsible_departments"] == ["samr-410300"] and restaurant["version"] > 1
    versions = (await registry.call("GET", "/rules/versions", kit.OFFICE)).json()
    assert versions[0]["created_by"] == "office-user" and versions[0]["note"] == "直播电商"


async def test_a_two_character_name_is_found_and_a_broad_search_says_its_count_is_capped(registry, registry_settings,
                                                                                          kit, tmp_path):
    """A Chinese name of two characters (华安) has no trigram: the directory finds it by its bigram, only where
    the two stand together in that order; a count past the cap is given as "at least"."""
    rng = random.Random()
    tag = "".join(chr(0x4E00 + rng.randrange(0x5000)) for _ in range(2))   # two characters no other test uses
    named = {kit.new_uscc("410302"): f"洛阳{tag}商贸有限公司" for _ in range(3)}
    apart = {kit.new_uscc("410302"): f"洛阳{tag[0]}一{tag[1]}商行", kit.new_uscc("410302"): f"洛阳{tag[::-1]}商行"}
    path = tmp_path / "directory.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerows(row(code, name=name) for code, name in {**named, **apart}.items())
    await run_import(registry_settings, path, fmt="csv", rejects_path=tmp_path / "rejects.csv", progress=False)

    page = (await registry.call("GET", "/entities", kit.OFFICE, params={"name": tag})).json()
    assert {e["uscc"] for e in page["items"]} == set(named) and (page["total"], page["total_capped"]) == (3, False)
    whole = (await registry.call("GET", "/entities", kit.OFFICE, params={"name": f"{tag}商贸"})).json()
    assert whole["total"] == 3
    # No name is longer than 200 characters: a longer query is refused (its bigrams were costly to look up).
    long = await registry.call("GET", "/entities", kit.OFFICE, params={"name": tag * 101})
    assert long.status_code == 422 and long.json()["errors"][0]["field"] == "query.name", long.text

    def deps(count_cap: int, shares: dict[str, float]):
        """The service's own deps with another cap and the name index's statistics as given."""
        async def statistics(_session):
            return shares
        return replace(registry.runtime.deps, bigram_shares=Refreshing(statistics, 0),
                       settings=registry_settings.model_copy(update={"search_count_cap": count_cap}))

    async with registry.runtime.db.transaction() as session:
        for shares in ({}, {tag: 1.0}):  # counted through the bigram index, or by reading names in order
            counted = await directory.search(deps(2, shares), session, limit=1, offset=0, name=tag)
            assert (counted[0], counted[1], len(counted[2])) == (2, True, 1)
            exact = await directory.search(deps(10, shares), session, limit=5, offset=0, name=tag)
            assert (exact[0], exact[1], {r.uscc for r in exact[2]}) == (3, False, set(named))


async def test_a_rule_set_published_meanwhile_is_the_one_a_second_publication_is_checked_against(registry, kit):
    """Two office users publish at once: the second replaces the first's rule set, so its confirmation is judged
    against that one, not against the version in force when it was sent."""
    current = (await registry.call("GET", "/rules", kit.OFFICE)).json()["rules"]
    tripled = current + [{**r, "id": f"{r['id']}-{n}"} for n in (2, 3) for r in current]   # the same departments
    async with registry.runtime.db.transaction() as s:     # the first user's publication under way
        await rule_sets.add_rule_set(s, rules=tripled, note="每条规则三份", actor="office-li", now=clock.now(),
                                     reassess=False)
        second = asyncio.create_task(registry.call("PUT", "/rules", kit.OFFICE, json={"rules": current}))
        await until_waiting_or_done(registry.runtime.db, second, what="the second publication")
    refused = await second         # back to a third of the rules in force: a drastic change, unconfirmed
    assert refused.status_code == 409 and "keeps" in refused.json()["reasons"][0], refused.text
    confirmed = await registry.call("PUT", "/rules", kit.OFFICE,
                                    json={"rules": current, "confirm": refused.json()["confirm"]})
    assert confirmed.status_code == 201, confirmed.text


async def _eq(value, expected) -> bool:
    return sorted(await value or []) == expected
