import json

import pytest

from jsp_common import tracing
from jsp_common.envelope import Envelope, EnvelopeError, encode_event, new_envelope


def test_envelope_round_trips_as_structured_cloudevent():
    env = new_envelope(type="registry.entity.changed.v1", source="/jsp/registry", subject="91410100MA00000001",
                       data={"name": "郑州某某食品有限公司"})
    doc = json.loads(env.to_bytes())
    assert doc["specversion"] == "1.0" and doc["datacontenttype"] == "application/json"
    assert doc["data"]["name"] == "郑州某某食品有限公司"  # UTF-8, not escaped
    assert Envelope.from_bytes(env.to_bytes()) == env
    assert tracing.valid(env.traceparent)


def test_new_envelope_continues_the_current_trace():
    parent = tracing.new_traceparent()
    token = tracing.current_traceparent.set(parent)
    try:
        env = new_envelope(type="x.y.happened.v1", source="/t", data={})
    finally:
        tracing.current_traceparent.reset(token)
    assert env.trace_id == tracing.trace_id_of(parent)
    assert env.traceparent != parent  # a new span of the same trace


@pytest.mark.parametrize("raw, reason", [
    (b'{"specversion": "1.0", "id": "a', "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "the JSON is not an object"),
    (None, "empty message"),
    (b'{"specversion": "0.3", "id": "1", "source": "/s", "type": "t", "time": "2025-01-01T00:00:00Z"}',
     "specversion"),
    (b'{"specversion": "1.0", "source": "/s", "type": "t", "time": "2025-01-01T00:00:00Z"}', "id: Field required"),
    (b'{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "time": "2025-01-01T00:00:00Z"}',
     "data: Field required"),
    (b'{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "time": "2025-01-01T00:00:00Z", "data": null}',
     "data: Input should be an object"),
])
def test_bad_bytes_are_refused_with_the_reason(raw, reason):
    with pytest.raises(EnvelopeError) as exc:
        Envelope.from_bytes(raw)
    assert reason in exc.value.reason


@pytest.mark.parametrize("subject", [None, '91410100 "引号" \\ 名称'])
def test_encoded_event_is_the_envelope_it_describes_byte_for_byte(subject):
    data = {"uscc": "91410100MA44XXXX0X", "name": "郑州\"好味道\"餐饮", "licences": [{"type": "食品经营许可证"}],
            "closed_on": None}
    event_id, traceparent, raw = encode_event(type="x.y.v1", source="/jsp/registry", subject=subject,
                                              data_json=json.dumps(data, ensure_ascii=False,
                                                                                    separators=(",", ":")))
    env = Envelope.from_bytes(raw)
    assert (env.id, env.type, env.source, env.subject, env.traceparent) == (
        event_id, "x.y.v1", "/jsp/registry", subject, traceparent)
    assert env.data == data
    assert env.to_bytes() == raw


def test_ids_derived_from_a_cause_are_the_same_each_time_and_apart_by_topic_type_key_and_turn():
    from jsp_common.outbox import EventIds

    def issue(cause):
        ids = EventIds(cause)
        return [ids.event_id("dept.a.clues.v1", "t.v1", "k1"), ids.event_id("dept.b.clues.v1", "t.v1", "k1"),
                ids.event_id("dept.a.clues.v1", "u.v1", "k1"), ids.event_id("dept.a.clues.v1", "t.v1", "k2"),
                ids.event_id("dept.a.clues.v1", "t.v1", "k1"), ids.record_id("clue", "12345", "WO-1")]

    first = issue("registry.intake\nevent-1")
    assert issue("registry.intake\nevent-1") == first, "the same input issues the same ids (after a restore, too)"
    assert len(set(first)) == len(first), "topic, type, key and the n-th such event each tell events apart"
    assert not set(issue("registry.intake\nevent-2")) & set(first), "another input, other ids"
    assert not set(issue("clues.intake\nevent-1")) & set(first), "another group's effects of the input, other ids"
    random = EventIds(None)
    assert random.event_id("t", "t.v1", "k") != random.event_id("t", "t.v1", "k")  # no cause: random ids


def test_a_request_with_an_idempotency_key_names_its_cause_by_caller_route_and_key():
    from starlette.requests import Request

    from jsp_common.http import request_cause
    from jsp_common.principal import Principal, Role

    def request(path, subject, headers):
        caller = Principal(subject=subject, roles=[Role.OFFICE])  # as the service verified the assertion
        return Request({"type": "http", "method": "POST", "path": path, "query_string": b"",
                        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                        "state": {"verified_principal": caller}})

    key = {"Idempotency-Key": "k-1"}
    cause = request_cause(request("/clues/C1/acceptance", "office-1", key))
    assert cause is not None and cause == request_cause(request("/clues/C1/acceptance", "office-1", key))
    assert cause != request_cause(request("/clues/C2/acceptance", "office-1", key))
    assert cause != request_cause(request("/clues/C1/acceptance", "office-2", key))
    assert request_cause(request("/clues/C1/acceptance", "office-1", {})) is None  # no key: random ids
    # Nobody identified (a sign-in, a public route): a key anyone may send names no request of theirs.
    anonymous = Request({"type": "http", "method": "POST", "path": "/auth/token", "query_string": b"",
                         "headers": [(b"idempotency-key", b"k-1")], "state": {}})
    assert request_cause(anonymous) is None
