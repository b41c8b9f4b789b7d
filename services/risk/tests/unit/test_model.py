"""The risk model as data: what the office may save, and what is refused with the field it concerns."""

import copy

import pytest
from pydantic import ValidationError

from jsp_common.events.risk import WarningLevel
from risk.domain.model import RiskModel, Source

from .conftest import starter_document


def refused(doc: dict) -> str:
    with pytest.raises(ValidationError) as exc:
        RiskModel.model_validate(doc)
    return str(exc.value)


def test_starter_model_is_valid_and_levels_cover_every_score(starter):
    assert [r.level for r in starter.levels] == list(WarningLevel)
    assert starter.level_for(0) is None and starter.level_for(19.99) is None
    assert starter.level_for(20) == WarningLevel.BLUE and starter.level_for(39.9) == WarningLevel.BLUE
    assert starter.level_for(40) == WarningLevel.YELLOW and starter.level_for(79.9) == WarningLevel.ORANGE
    assert starter.level_for(80) == WarningLevel.RED and starter.level_for(10_000) == WarningLevel.RED
    assert [i.code for i in starter.indicators_of(Source.DEVICE_OUT_OF_RANGE, "gas_lel")] == ["gas_over_limit"]


def test_overlapping_levels_are_refused_with_the_levels_named():
    doc = starter_document()
    doc["levels"][1]["min_score"] = 35  # yellow starts inside blue (blue runs to 40)
    reason = refused(doc)
    assert "levels.1.min_score" in reason and "overlap" in reason and "yellow starts at 35" in reason


def test_gap_between_levels_and_unbounded_lower_level_are_refused():
    doc = starter_document()
    doc["levels"][2]["min_score"] = 65
    assert "gap between levels: yellow ends at 60 and orange starts at 65" in refused(doc)
    doc = starter_document()
    doc["levels"][0]["max_score"] = None
    assert "blue needs an upper bound" in refused(doc)


def test_levels_out_of_order_missing_plan_and_unknown_metric_are_refused():
    doc = starter_document()
    doc["levels"][0], doc["levels"][1] = doc["levels"][1], doc["levels"][0]
    assert "in order: blue, yellow, orange, red" in refused(doc)
    doc = starter_document()
    doc["plans"][3]["level"] = "orange"
    assert "one response plan per level" in refused(doc)
    doc = starter_document()
    doc["metrics"] = [m for m in doc["metrics"] if m["metric"] != "gas_lel"]
    assert "no metric profile for gas_lel" in refused(doc)


def test_duplicate_indicator_and_credit_rule_on_unknown_indicator_are_refused():
    doc = starter_document()
    doc["indicators"].append(copy.deepcopy(doc["indicators"][0]))
    assert "indicator code clues_received is given twice" in refused(doc)
    doc = starter_document()
    doc["credit_rules"][2]["indicator"] = "nothing_like_this"
    assert "no indicator nothing_like_this" in refused(doc)


def test_a_default_class_lower_risk_than_an_unrated_entity_s_is_refused():
    """With A by default, one complaint (a score, no rule holding) made an entity low risk, sampled less, while
    one nobody had complained about counted as B."""
    doc = starter_document()
    doc["default_class"] = "A"
    assert "would rate an entity with anything against it (one complaint) as lower risk" in refused(doc)
    doc["default_class"] = "C"
    assert RiskModel.model_validate(doc).default_class == "C"
    # A model published with A before is still read (the service would not start with it otherwise).
    assert RiskModel.model_validate({**doc, "default_class": "A"}, context={"stored": True}).default_class == "A"


def test_escalation_needs_a_deadline():
    doc = starter_document()
    doc["plans"][3].pop("respond_within_hours")
    assert "needs a response deadline" in refused(doc)


def test_a_metric_alerts_the_named_agencies_department_for_the_entity_s_city():
    gas = RiskModel.model_validate(starter_document()).metric("gas_lel")
    assert gas.alerted_departments("410105") == ["mohurd-410100"]     # a Zhengzhou district: the city's authority
    assert gas.alerted_departments("419001") == ["mohurd-419001"]     # Jiyuan, a city-level division of its own
    assert gas.alerted_departments(None) == []
    doc = starter_document()
    doc["metrics"][0]["alert_agencies"] = ["mohurd", "gasco"]
    assert "metrics.0.alert_agencies.1" in refused(doc) and "'mohurd'" in refused(doc)
