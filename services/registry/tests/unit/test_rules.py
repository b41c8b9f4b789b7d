"""Responsibility rules and the directory's state changes (pure domain, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from jsp_common import clock, uscc
from jsp_common.events.registry import (MarketEntityChanged, MarketEntityDeregistered, MarketEntityRegistered,
                                        MarketEntityRevoked)
from registry.adapters.rules import starter_rules
from registry.domain import directory
from registry.domain.rules import CompiledRules, Facts, RuleSet, affirmative_scope, changed_rules

RULES = CompiledRules.from_json(1, starter_rules(None)["rules"])


@pytest.mark.parametrize("facts,departments", [
    # a county's entity goes to its city's department
    (Facts("410105", "6210", "餐饮服务"), ("samr-410100",)),
    (Facts("410105", "5212", "日用百货销售", ("食品经营许可证",)), ("samr-410100",)),
    # agencies that exist only at province level resolve to the province
    (Facts("410305", "2720", ""), ("nmpa-410000",)),
    (Facts("410102", "5299", "瓶装液化石油气经营；燃气具销售"), ("mohurd-410100", "samr-410100")),
    (Facts("419001", "4790", "房屋建筑工程施工"), ("mohurd-419001",)),
    (Facts("410105", "7299", "企业管理咨询"), ()),
])
def test_starter_rules_pick_the_usual_lead_departments(facts, departments):
    assert RULES.evaluate(facts).departments == departments


def test_negated_scope_clauses_do_not_count():
    scope = "化工产品销售（不含危险化学品）；企业管理咨询（未经金融监管部门批准，不得从事吸收存款、融资担保、代客理财等金融业务）；危险化学品仓储除外"
    assert "危险化学品" not in affirmative_scope(scope)
    assert RULES.evaluate(Facts("410105", "7299", scope)).empty
    assert RULES.evaluate(Facts("410105", "7299", "融资担保；企业管理咨询")).departments == ("finance-410100",)


def test_a_trailing_exclusion_negates_only_the_item_it_names():
    scope = "预包装食品销售、第二类医疗器械销售、危险化学品除外"
    got = RULES.evaluate(Facts("410105", "5299", scope))
    assert got.departments == ("samr-410100",) and got.domains == ("food", "medical_devices")
    assert "危险化学品" not in affirmative_scope(scope)
    # in parentheses the exclusion covers the whole list of the clause it closes, not the clauses before it
    assert RULES.evaluate(Facts("410105", "5299", "化工产品销售（危险化学品、易制毒化学品除外）")).empty
    for scope, domain in (("日用百货销售（含预包装食品；危险化学品除外）", "food"),
                          ("五金产品、日用品销售（含第二类医疗器械销售，危险化学品除外）", "medical_devices")):
        got = RULES.evaluate(Facts("410105", "5299", scope))
        assert got.departments == ("samr-410100",) and got.domains == (domain,), scope


def test_rule_limited_to_a_city_covers_its_counties_only():
    rules = CompiledRules.from_json(2, [{"id": "zz-live-streaming", "domain": "other", "agencies": ["mofcom"],
                                         "divisions": ["410100"], "match": {"scope_keywords": ["直播带货"]}}])
    assert rules.evaluate(Facts("410105", "5299", "直播带货")).departments == ("mofcom-410100",)
    assert rules.evaluate(Facts("410305", "5299", "直播带货")).empty


def test_a_keyword_counts_wherever_it_appears_even_inside_another_rules_longer_keyword():
    rules = CompiledRules.from_json(2, [
        {"id": "gas", "domain": "gas", "agencies": ["mohurd"], "match": {"scope_keywords": ["燃气"]}},
        {"id": "gas-retail", "domain": "gas", "agencies": ["samr"], "match": {"scope_keywords": ["燃气经营"]}},
        {"id": "filling", "domain": "gas", "agencies": ["mem"], "match": {"scope_keywords": ["加气站"]}},
        {"id": "vehicle-filling", "domain": "gas", "agencies": ["mot"],
         "match": {"scope_keywords": ["燃气汽车加气站"]}},
    ])
    assert rules.keywords_in("燃气经营；燃气汽车加气站经营") == {"燃气", "燃气经营", "加气站", "燃气汽车加气站"}
    assert rules.evaluate(Facts("410105", "5299", "燃气汽车加气站")).matched_rules == ("gas", "filling",
                                                                                      "vehicle-filling")
    assert rules.evaluate(Facts("410105", "5299", "燃气经营")).departments == ("mohurd-410100", "samr-410100")


def test_changed_rules_are_those_added_removed_altered_or_switched_off():
    def rule(rid, keyword, **over):
        return {"id": rid, "domain": "other", "agencies": ["mofcom"], "match": {"scope_keywords": [keyword]}, **over}
    current = CompiledRules.from_json(1, [rule("same", "甲"), rule("altered", "乙"), rule("removed", "丙"),
                                          rule("switched-off", "丁")])
    proposed = CompiledRules.from_json(2, [rule("same", "甲"), rule("altered", "乙乙"), rule("added", "戊"),
                                           rule("switched-off", "丁", enabled=False)])
    got = [(r.id, r.match.scope_keywords) for r in changed_rules(current, proposed)]
    assert got == [("added", ["戊"]), ("altered", ["乙"]), ("altered", ["乙乙"]), ("removed", ["丙"]),
                   ("switched-off", ["丁"])]
    assert changed_rules(current, current) == []


def test_invalid_rule_sets_are_refused():
    with pytest.raises(ValidationError, match="should be .*'samr'"):  # the known agencies, named
        RuleSet(rules=[{"id": "x1", "domain": "food", "agencies": ["nobody"], "match": {"industries": ["14"]}}])
    with pytest.raises(ValidationError, match="at least one"):
        RuleSet(rules=[{"id": "x1", "domain": "food", "agencies": ["samr"], "match": {}}])
    with pytest.raises(ValidationError, match="used twice"):
        rule = {"id": "x1", "domain": "food", "agencies": ["samr"], "match": {"industries": ["14"]}}
        RuleSet(rules=[rule, rule])


CODE = uscc.with_check_char("91410105MA9ABCDE1")
T0 = clock.now() - timedelta(days=10)


def _registered(at: datetime, **over) -> MarketEntityRegistered:
    data = {"uscc": CODE, "name": "甲公司", "entity_type": "有限责任公司", "address": "郑州", "division_code": "410105",
            "industry_code": "6210", "established_on": "2024-01-02", "occurred_at": at}
    return MarketEntityRegistered(**{**data, **over})


def test_an_older_change_is_superseded_not_applied():
    created = directory.apply_event(None, _registered(T0)).record
    newer = directory.apply_event(created, MarketEntityChanged(**{**_registered(T0).model_dump(), "name": "乙公司",
                                                                  "occurred_at": T0 + timedelta(days=2)})).record
    older = MarketEntityChanged(**{**_registered(T0).model_dump(), "name": "丙公司", "occurred_at": T0 + timedelta(days=1)})
    assert directory.apply_event(newer, older).outcome == "superseded"
    assert newer.name == "乙公司" and newer.version == 2


def test_status_and_particulars_are_ordered_apart():
    """A revocation at 09:00 that arrives after a change at 10:00 still closes the entity; a change at 09:00 that
    arrives after a revocation at 10:00 still restates the particulars."""
    created = directory.apply_event(None, _registered(T0)).record
    nine, ten = T0 + timedelta(hours=9), T0 + timedelta(hours=10)
    renamed = MarketEntityChanged(**{**_registered(T0).model_dump(), "name": "乙公司", "occurred_at": ten})
    revoked = MarketEntityRevoked(uscc=CODE, occurred_at=nine, revoked_on="2024-06-01")
    late_revocation = directory.apply_event(directory.apply_event(created, renamed).record, revoked)
    assert late_revocation.outcome == "applied" and late_revocation.record.closed
    assert late_revocation.record.name == "乙公司" and late_revocation.record.last_changed_at == ten

    early_change = MarketEntityChanged(**{**_registered(T0).model_dump(), "name": "丙公司", "occurred_at": nine})
    late_change = directory.apply_event(directory.apply_event(
        created, MarketEntityRevoked(uscc=CODE, occurred_at=ten, revoked_on="2024-06-01")).record, early_change)
    assert late_change.outcome == "applied" and late_change.record.name == "丙公司"
    assert late_change.record.status == "revoked" and late_change.record.last_changed_at == ten
    # A record from before the two times were kept (or an import line): its last change counts for both, and
    # the side an event leaves keeps that time when the record's last change moves past it.
    earlier = replace(created, stated_at=None, status_changed_at=None)
    changed_first = directory.apply_event(earlier, renamed).record
    assert directory.apply_event(changed_first, revoked).record.closed
    # Older than both, an event changes nothing.
    stale = MarketEntityChanged(**{**_registered(T0).model_dump(), "name": "丁公司",
                                   "occurred_at": T0 + timedelta(hours=8)})
    assert directory.apply_event(late_change.record, stale).outcome == "superseded"
    assert directory.apply_event(late_change.record, _registered(T0 + timedelta(hours=8))).outcome == "superseded"


def test_closing_an_unknown_or_younger_entity_is_refused():
    closing = MarketEntityDeregistered(uscc=CODE, occurred_at=T0, deregistered_on="2023-01-01")
    with pytest.raises(directory.UnknownEntity):
        directory.apply_event(None, closing)
    created = directory.apply_event(None, _registered(T0 - timedelta(days=1))).record
    with pytest.raises(directory.InconsistentDates):
        directory.apply_event(created, closing)


def test_responsibility_new_departments_adjudication_and_closure():
    created = directory.apply_event(None, _registered(T0)).record
    first = directory.assign(None, created, RULES.evaluate(created.facts()), 1)
    assert first.notify_new == ["samr-410100"] and first.record.assignment_state == "assigned"
    unmatched = directory.assign(None, created, RULES.evaluate(Facts("410105", "7299", "咨询")), 1)
    assert unmatched.open_adjudication and unmatched.record.assignment_state == "adjudication"
    closed = directory.apply_event(first.record, MarketEntityDeregistered(
        uscc=CODE, occurred_at=T0 + timedelta(days=1), deregistered_on="2024-06-01")).record
    after = directory.assign(first.record, closed, None, None)
    assert after.notify_closed == ["samr-410100"] and after.notify_new == []
    assert directory.ended(first.record, closed) == []  # told of the closure instead


def test_an_entity_closed_while_it_waited_waits_no_more_and_registered_again_is_assessed_anew():
    """Closed while waiting for the office, the entity kept the adjudication state (its case withdrawn): shown as
    waiting with no case; registered again, it opened no case, and departments told of its closure were not told
    it was back."""
    created = directory.apply_event(None, _registered(T0, industry_code="7299", business_scope="咨询")).record
    waiting = directory.assign(None, created, RULES.evaluate(created.facts()), 1).record
    assert waiting.assignment_state == "adjudication"
    closed = directory.apply_event(waiting, MarketEntityDeregistered(
        uscc=CODE, occurred_at=T0 + timedelta(days=1), deregistered_on="2024-06-01")).record
    after = directory.assign(waiting, closed, None, None)
    assert after.close_adjudication and after.record.assignment_state == "assigned" and after.record.departments == ()
    again = directory.apply_event(after.record, _registered(T0 + timedelta(days=2), industry_code="7299",
                                                            business_scope="咨询")).record
    assert directory.assign(after.record, again, RULES.evaluate(again.facts()), 1).open_adjudication

    served = directory.assign(None, created, RULES.evaluate(Facts("410105", "6210", "餐饮服务")), 1).record
    shut = directory.apply_event(served, MarketEntityDeregistered(
        uscc=CODE, occurred_at=T0 + timedelta(days=1), deregistered_on="2024-06-01")).record
    reopened = directory.apply_event(shut, _registered(T0 + timedelta(days=2))).record
    back = directory.assign(shut, reopened, RULES.evaluate(reopened.facts()), 1)
    assert back.notify_new == ["samr-410100"]   # told it is back, as it was told it closed
    # So is the department the office named, whose assignment stands (the rules are not asked again).
    named = replace(served, departments=("mem-410100",), assignment_source="office")
    shut = directory.apply_event(named, MarketEntityDeregistered(
        uscc=CODE, occurred_at=T0 + timedelta(days=1), deregistered_on="2024-06-01")).record
    assert directory.assign(named, shut, None, None).notify_closed == ["mem-410100"]
    reopened = directory.apply_event(shut, _registered(T0 + timedelta(days=2))).record
    back = directory.assign(shut, reopened, None, None)
    assert back.notify_new == ["mem-410100"] and back.record.departments == ("mem-410100",)
    changed = directory.apply_event(back.record, MarketEntityChanged(**{
        **_registered(T0).model_dump(), "address": "郑州市金水区农业路1号", "occurred_at": T0 + timedelta(days=3)}))
    assert directory.assign(back.record, changed.record, None, None).notify_new == []  # a change tells nobody


def test_departments_dropped_by_a_change_are_the_ones_whose_responsibility_ends():
    created = directory.apply_event(None, _registered(T0, business_scope="餐饮服务；危险化学品经营")).record
    both = directory.assign(None, created, RULES.evaluate(created.facts()), 1).record
    assert both.departments == ("mem-410100", "samr-410100")
    changed = directory.apply_event(both, MarketEntityChanged(**{
        **_registered(T0).model_dump(), "industry_code": "5169", "business_scope": "危险化学品经营",
        "occurred_at": T0 + timedelta(days=1)})).record
    chemicals_only = directory.assign(both, changed, RULES.evaluate(changed.facts()), 1).record
    assert directory.ended(both, chemicals_only) == ["samr-410100"]
    nothing = directory.assign(both, changed, RULES.evaluate(Facts("410105", "7299", "咨询")), 1).record
    assert directory.ended(both, nothing) == ["mem-410100", "samr-410100"]  # to adjudication
    assert directory.ended(None, both) == []


def test_an_office_decision_stands_only_in_the_city_where_it_was_made():
    """An entity the office assigned in Zhengzhou kept that department when it moved to Luoyang: no Luoyang
    department was told of it (双告知), and Zhengzhou's went on supervising a business outside its city."""
    created = directory.apply_event(None, _registered(T0)).record
    named = replace(directory.assign(None, created, RULES.evaluate(created.facts()), 1).record,
                    departments=("mofcom-410100",), matched_rules=(), assignment_source="office")

    def moved_to(division: str, **over) -> directory.Responsibility:
        event = MarketEntityChanged(**{**_registered(T0).model_dump(), "division_code": division,
                                       "occurred_at": T0 + timedelta(days=1), **over})
        after = directory.apply_event(named, event).record
        return directory.assign(named, after, RULES.evaluate(after.facts()), 1)

    within = moved_to("410102")  # another district of Zhengzhou: the office's decision stands
    assert (within.record.departments, within.record.assignment_source) == (("mofcom-410100",), "office")
    assert within.notify_new == [] and not within.open_adjudication

    luoyang = moved_to("410303")  # as a new registration there: Luoyang's department told, Zhengzhou's told it ended
    assert (luoyang.record.departments, luoyang.record.assignment_source) == (("samr-410300",), "rules")
    assert luoyang.notify_new == ["samr-410300"] and directory.ended(named, luoyang.record) == ["mofcom-410100"]

    unmatched = moved_to("410303", industry_code="7299", business_scope="咨询")  # no rule: the office is asked again
    assert unmatched.open_adjudication and unmatched.record.assignment_state == "adjudication"
    assert directory.ended(named, unmatched.record) == ["mofcom-410100"]


def test_the_entities_rules_may_match_are_asked_for_with_three_parameters_however_many_terms():
    """A statement takes at most 32,767 parameters: a rule set of 40,000 terms (within a rule's limits) made the
    dry run and the re-assessment fail as if the database were away (503), for good."""
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql

    from registry.adapters.entities import matched_by_any
    from registry.adapters.tables import entities

    many = RuleSet(rules=[{"id": f"bulk-{i}", "domain": "other", "agencies": ["moe"], "match": {
        "industries": ["C", "14"], "licence_types": ["许可证"], "scope_keywords": [f"研学{i}-{j}" for j in range(200)]}}
        for i in range(200)])
    statement = select(entities.c.uscc).where(matched_by_any(many.rules)).compile(dialect=postgresql.dialect())
    assert len(statement.params) == 3
    assert len(statement.params["scope_patterns"]) == 40_000 and "%研学7-42%" in statement.params["scope_patterns"]
    assert "14%" in statement.params["industry_patterns"]
