"""Scores from observations in their windows, levels and credit classes with their reasons."""

from datetime import datetime, timedelta

from jsp_common import clock
from jsp_common.events.risk import UNRATED_CLASS, CreditClass, WarningLevel
from risk.domain.scoring import Observation, assess, counts

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=clock.TZ)


def test_counts_keep_only_observations_in_each_indicators_window(starter):
    seen = [Observation("clues_received", NOW - timedelta(days=10)),
            Observation("clues_received", NOW - timedelta(days=91)),      # outside its 90 days
            Observation("clues_substantiated", NOW - timedelta(days=200)),  # inside its 365 days
            Observation("not_in_the_model", NOW)]
    assert counts(starter, seen, NOW) == {"clues_received": 1.0, "clues_substantiated": 1.0}


def test_score_is_weighted_and_capped_and_explains_itself(starter):
    a = assess(starter, 3, {"clues_received": 9, "clues_substantiated": 2})
    # clues_received: weight 2, cap 5 -> 10; clues_substantiated: 15 each -> 30
    assert a.score == 40 and a.level == WarningLevel.YELLOW and a.model_version == 3
    assert {c["indicator"]: c["points"] for c in a.contributions} == {"clues_received": 10, "clues_substantiated": 30}


def test_substantiated_clues_and_a_failed_inspection_raise_the_level(starter):
    before = assess(starter, 1, {"clues_received": 2, "clues_substantiated": 2})
    after = assess(starter, 1, {"clues_received": 2, "clues_substantiated": 2, "inspection_items_failed": 1})
    assert before.level == WarningLevel.BLUE and after.level == WarningLevel.YELLOW


def test_credit_class_takes_the_highest_rule_that_holds_with_its_reasons(starter):
    # No rule holds: general risk (B), as for an entity nothing is known against. Complaints never make an
    # entity low risk (A: not proactively inspected); only the office's correction does, in the starter model.
    assert assess(starter, 1, {}).computed_class == CreditClass.B == UNRATED_CLASS
    assert assess(starter, 1, {"clues_received": 5}).computed_class == CreditClass.B  # 10 points
    b = assess(starter, 1, {"gas_over_limit": 1})  # 30 points
    assert b.computed_class == CreditClass.B and b.class_reasons == ["风险分值达到20（一般风险）"]
    c = assess(starter, 1, {"clues_substantiated": 2})  # 30 points, but two substantiated clues
    assert c.computed_class == CreditClass.C and c.class_reasons == ["一年内两条以上属实线索"]
    d = assess(starter, 1, {"not_found_at_address": 1})
    assert d.computed_class == CreditClass.D and d.score == 25


def test_time_since_the_last_inspection_counts_until_an_inspection_is_in_its_window(starter):
    weighted = starter.model_copy(update={"indicators": [
        i.model_copy(update={"weight": 10}) if i.code == "not_inspected_year" else i for i in starter.indicators]})
    never = assess(weighted, 2, counts(weighted, [], NOW))
    assert never.counts == {"not_inspected_year": 1.0} and never.score == 10
    long_ago = counts(weighted, [Observation("not_inspected_year", NOW - timedelta(days=400))], NOW)
    assert assess(weighted, 2, long_ago).score == 10
    recent = counts(weighted, [Observation("not_inspected_year", NOW - timedelta(days=30))], NOW)
    assert assess(weighted, 2, recent).counts == {} and assess(weighted, 2, recent).score == 0
    # the starter model counts it (for a later version to weigh) but gives it no points
    a = assess(starter, 1, counts(starter, [], NOW))
    assert a.counts == {"not_inspected_year": 1.0} and a.score == 0 and a.contributions == []


def test_a_listing_in_the_abnormal_operation_directory_scores_while_it_lasts(starter):
    listed = assess(starter, 1, counts(starter, [Observation("abnormal_operation", NOW - timedelta(days=800))], NOW))
    assert listed.score == 20 and listed.level == WarningLevel.BLUE


def test_a_clue_the_risk_service_raised_is_observed_only_when_found_true():
    from jsp_common.events.clues import ClueTransitioned
    from risk.usecases.indicators import observes

    def step(channel, action, finding=None):
        return ClueTransitioned(clue_id="CL1", channel=channel, channel_ref="r", action=action, from_state=None,
                                to_state="x", actor="a", at=clock.now(), uscc="91410100MA0000000X",
                                details={"finding": finding} if finding else {})
    assert observes(step("hotline", "receive")) and not observes(step("risk", "receive"))
    assert not observes(step("inspection", "receive")) and observes(step("inspection", "handle", "substantiated"))
    assert observes(step("risk", "handle", "substantiated")) and observes(step("hotline", "handle", "partly"))
    assert not observes(step("risk", "handle", "unsubstantiated"))
