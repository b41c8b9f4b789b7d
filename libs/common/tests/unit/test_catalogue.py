"""The event and topic catalogues agree with each other and with the published documents."""

import json

import pytest

from jsp_common import contracts_export, events, topics
from jsp_common.departments import all_departments


def test_every_topic_event_type_is_declared_and_every_declared_type_is_on_a_topic():
    on_topics = {t for topic in topics.CATALOGUE for t in topic.event_types}
    declared = set(contracts_export.published_types())
    assert on_topics - declared == set(), "event types on topics without a contract"
    assert declared - on_topics == set(), "contracts that no topic carries"


def test_event_types_are_versioned_past_tense_names():
    for t in contracts_export.published_types():
        owner, *_, version = t.split(".")
        assert version.startswith("v") and version[1:].isdigit(), t
        assert events.CATALOGUE[t].version == int(version[1:])


def test_department_topics_share_a_per_department_prefix():
    dept = all_departments()[0].code
    names = [t.name for t in topics.all_topics([dept]) if dept in t.name]
    assert names and all(n.startswith(f"dept.{dept}.") for n in names)
    assert len({t.name for t in topics.all_topics()}) == len(topics.all_topics()), "duplicate topic names"


def test_every_consumer_group_of_ours_has_a_dead_letter_topic():
    names = {t.name for t in topics.all_topics([])}
    for topic in topics.CATALOGUE:
        for group in topic.service_groups:
            assert topics.dead_letter_topic(topic.name, group) in names


def test_json_schemas_accept_what_the_models_produce():
    import jsonschema

    for t in contracts_export.published_types():
        schema = contracts_export.schema_of(t)
        jsonschema.Draft202012Validator.check_schema(schema)


def test_published_documents_are_in_step_with_the_catalogues():
    assert contracts_export.stale() == [], "run `make schemas` and commit docs/"
    doc = contracts_export.asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    assert {c["address"] for c in doc["channels"].values()} == {t.name for t in topics.CATALOGUE} | {
        "{topic}.dlq.{group}"}  # every dead-letter topic, one channel
    # The bureau's topic: the platform consumes it (the registry) and publishes onto it (the gateway's ingest).
    assert {"receive_market_registrations_v1", "send_market_registrations_v1"} <= doc["operations"].keys()
    assert "receive_registry_entities_v1" in doc["operations"]  # read by the inspection and risk services too


def _refs(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield path, v
            else:
                yield from _refs(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _refs(v, f"{path}.{i}")


def test_every_reference_of_the_asyncapi_document_resolves_from_its_root():
    import yaml

    doc = yaml.safe_load((contracts_export.DOCS / "asyncapi.yaml").read_text())
    unresolved = []
    for where, ref in _refs(doc):
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        if not ref.startswith("#/") or node is None:
            unresolved.append(f"{where}: {ref}")
    assert unresolved == []
    schemas = doc["components"]["schemas"]
    events = (m for name, m in doc["components"]["messages"].items() if name != "dead_letter")
    for message in events:  # every event's payload is a schema of its own
        envelope = schemas[message["payload"]["$ref"].rsplit("/", 1)[1]]
        assert envelope["properties"]["data"]["$ref"].startswith("#/components/schemas/")


def test_the_asyncapi_document_has_no_yaml_aliases_for_a_java_reader():
    """Java's YAML readers take a document's anchors badly (SnakeYAML refuses more than 50 aliases, Jackson reads an
    alias as the text ``id001``): every schema is written out in full where it is used."""
    import yaml

    events = yaml.parse((contracts_export.DOCS / "asyncapi.yaml").read_text())
    assert [e for e in events if isinstance(e, yaml.AliasEvent)] == []


def test_the_document_refuses_what_the_consumers_refuse():
    """A non-Python sender checking its messages against the document alone: an envelope id longer than the
    consumers take, one without its specversion or data or of another content type, a dataschema or tracestate that
    is not text, a USCC with a letter in its division
    code, or an industry class with another section's letter, is refused there too, not only on arrival; a class
    with its own section's letter is taken by both."""
    import jsonschema
    from jsp_common.envelope import Envelope, EnvelopeError
    from jsp_common.industries import UnknownIndustry, validate_class
    from jsp_common.uscc import is_valid
    from jsp_testkit.samples import new_uscc

    envelope = jsonschema.Draft202012Validator(contracts_export.ENVELOPE_SCHEMA)
    good = {"specversion": "1.0", "id": "e1", "source": "/bureau", "type": "market.entity.registered.v1",
            "time": "2026-03-02T09:00:00+08:00", "data": {}}
    assert envelope.is_valid(good) and Envelope.model_validate(good)
    for bad in ({**good, "id": "i" * 201}, {**good, "source": ""}, {**good, "subject": "s" * 501},
                {k: v for k, v in good.items() if k != "specversion"}, {**good, "datacontenttype": "text/plain"},
                {**good, "dataschema": {"href": "https://example.org/s.json"}}, {**good, "tracestate": 5},
                {k: v for k, v in good.items() if k != "data"}, {**good, "data": None}):
        assert not envelope.is_valid(bad)
        with pytest.raises(EnvelopeError):
            Envelope.from_bytes(json.dumps(bad).encode())
    # the document's time is RFC 3339, with its offset (a format a generic validator may not check): a local time
    # without one is refused on arrival too, where it was taken as a naive time no one can place
    with pytest.raises(EnvelopeError, match="time"):
        Envelope.from_bytes(json.dumps({**good, "time": "2026-03-02T09:00:00"}).encode())
    uscc = jsonschema.Draft202012Validator(
        events.CATALOGUE["market.entity.registered.v1"].model_json_schema()["properties"]["uscc"])
    code = new_uscc()
    lettered = code[:4] + "A" + code[5:]
    assert uscc.is_valid(code) and not uscc.is_valid(lettered) and not is_valid(lettered)
    industry = jsonschema.Draft202012Validator(
        events.CATALOGUE["market.entity.registered.v1"].model_json_schema()["properties"]["industry_code"])
    for taken in ("5221", "F5221", "C1391"):  # a section letter, the class's own, is taken and dropped
        assert industry.is_valid(taken) and validate_class(taken) == taken[-4:]
    for refused in ("A5221", "F52211", "1300", "C1300", "F"):
        assert not industry.is_valid(refused)
        with pytest.raises(UnknownIndustry):
            validate_class(refused)


_READING = {"device_id": "gas-001", "metric": "gas_lel", "value": 3.5, "unit": "%LEL",
            "measured_at": "2026-03-02T10:00:00+08:00"}


@pytest.mark.parametrize("event_type, sample, field", [
    ("market.entity.registered.v1", "registration", "name"),
    ("market.entity.registered.v1", "registration", "address"),
    ("monitoring.device.reading-recorded.v1", None, "unit"),
])
def test_the_document_refuses_a_required_text_of_spaces_as_the_consumers_do(event_type, sample, field):
    """The models strip a text before measuring it, so a required text of spaces alone is refused on arrival: a
    sender checking against the published schema learns so beforehand."""
    import jsonschema
    from jsp_testkit import samples

    data = getattr(samples, sample)() if sample else {**_READING, "uscc": samples.new_uscc()}
    schema = jsonschema.Draft202012Validator(contracts_export.schema_of(event_type))
    assert schema.is_valid(data) and events.parse_data(event_type, data)
    blank = {**data, field: " \u3000\t "}
    assert not schema.is_valid(blank)
    with pytest.raises(ValueError):
        events.parse_data(event_type, blank)


def _uscc_patterns(node):
    """Every pattern the published schema gives a Unified Social Credit Code (``format: uscc``)."""
    if isinstance(node, dict):
        if node.get("format") == "uscc":
            yield node["pattern"]
        for child in node.values():
            yield from _uscc_patterns(child)
    elif isinstance(node, list):
        for child in node:
            yield from _uscc_patterns(child)


def test_every_published_uscc_pattern_refuses_the_codes_arrival_refuses():
    """A work order naming a business by a code no authority issues passed the published schema and was refused on
    arrival as a whole (the clues' pattern said only "18 characters of the alphabet")."""
    import re

    from jsp_common import uscc

    refused = [first17 + uscc.calc_check_char(first17)  # a correct check character: only the head or division wrong
               for first17 in ("01410100MA0000000", "Q1410100MA0000000", "99410100MA0000000", "B1410100MA0000000",
                               "9141A100MA0000000")]
    accepted = uscc.with_check_char("91410100MA0000000")
    checked = 0
    for event_type in contracts_export.published_types():
        for pattern in _uscc_patterns(events.CATALOGUE[event_type].model_json_schema()):
            checked += 1
            assert re.fullmatch(pattern, accepted), event_type
            assert not any(re.fullmatch(pattern, code) for code in refused), (event_type, pattern)
    assert checked > 10


@pytest.mark.parametrize("value", ["1e400", "-1e400", "NaN", "Infinity"])
def test_a_reading_that_is_no_finite_number_is_refused_with_its_field(value):
    """1e400 is valid JSON and was read as infinity: a breach of every threshold, an urgent clue saying "最高inf%LEL"
    (and NaN, not JSON at all, was taken too)."""
    from pydantic import ValidationError
    from jsp_testkit import samples

    raw = json.dumps({**_READING, "uscc": samples.new_uscc(), "value": 0}).replace('"value": 0', f'"value": {value}')
    with pytest.raises(ValidationError) as refused:
        events.model_for("monitoring.device.reading-recorded.v1").model_validate_json(raw)
    assert [e["loc"] for e in refused.value.errors()] == [("value",)]
