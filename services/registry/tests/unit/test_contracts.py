"""The registry's event contracts: the bureau's events are checked field by field, and every registry
event round-trips through the envelope."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jsp_common import clock, uscc
from jsp_common.envelope import Envelope, new_envelope
from jsp_common.events import CATALOGUE, parse_data
from jsp_common.events.registry import validate_market_event
from jsp_common.topics import CATALOGUE as TOPICS

CODE = uscc.with_check_char("91410105MA9ABCDE1")


def registered(**over) -> dict:
    data = {"uscc": CODE, "name": "郑州市某某食品有限公司", "entity_type": "有限责任公司", "address": "河南省郑州市金水区",
            "division_code": "410105", "industry_code": "1419", "established_on": "2024-01-02",
            "occurred_at": "2024-01-02T09:00:00+08:00"}
    return {**data, **over}


def test_a_valid_registration_is_normalised():
    model, errors = validate_market_event("market.entity.registered.v1",
                                          registered(uscc=CODE.lower(), industry_code="C1419"))
    assert errors == []
    assert model.uscc == CODE and model.industry_code == "1419"


@pytest.mark.parametrize("field,value,reason", [
    ("uscc", CODE[:-1] + ("0" if CODE[-1] != "0" else "1"), "wrong check character"),
    ("uscc", CODE[:17], "18 characters"),
    ("division_code", "110105", "not a current Henan division"),
    ("division_code", "410199", "unknown division code"),
    ("industry_code", "9999", "no division '99'"),
    ("industry_code", "1516", "not a class of division 15"),
    ("industry_code", "A1419", "section C, not A"),
    ("established_on", (clock.today() + timedelta(days=5)).isoformat(), "in the future"),
    ("established_on", "1900-01-01", "before 1949-10-01"),
    ("occurred_at", (clock.now() + timedelta(days=3)).isoformat(), "in the future"),
])
def test_each_bad_field_is_named_with_its_reason(field, value, reason):
    model, errors = validate_market_event("market.entity.registered.v1", registered(**{field: value}))
    assert model is None
    assert [e["field"] for e in errors] == [field]
    assert reason in errors[0]["reason"]


def test_missing_fields_and_inconsistent_dates_are_reported_together():
    data = registered(approved_on="2023-01-01")
    del data["name"]
    _, errors = validate_market_event("market.entity.registered.v1", data)
    assert {e["field"] for e in errors} == {"name", "approved_on"}
    assert any("is before established_on" in e["reason"] for e in errors)


def test_unknown_market_event_type_is_refused():
    _, errors = validate_market_event("market.entity.merged.v1", registered())
    assert errors[0]["field"] == "type"


def test_licence_validity_must_follow_issue():
    _, errors = validate_market_event("market.entity.changed.v1", registered(licences=[
        {"type": "食品经营许可证", "issued_on": "2024-02-01", "valid_until": "2023-02-01"}]))
    assert [e["field"] for e in errors] == ["licences.0.valid_until"]


def test_every_registry_topic_event_type_is_declared_and_round_trips():
    types = {t for topic in TOPICS for t in topic.event_types
             if topic.name.startswith(("market.", "registry.", "dept.{department}.notifications"))}
    assert types <= set(CATALOGUE)
    sample = registered()
    env = new_envelope(type="market.entity.registered.v1", source="/bureau", data=sample)
    back = Envelope.from_bytes(env.to_bytes())
    assert parse_data(back.type, back.data) == parse_data(env.type, sample)
