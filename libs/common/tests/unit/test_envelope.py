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
