"""Export the published contracts: JSON Schemas of every event type, the AsyncAPI 3.0 document and
the README's table of topics.

    python -m jsp_common.contracts_export          # write docs/schemas/*.json and docs/asyncapi.yaml
    python -m jsp_common.contracts_export --check  # exit 1 if the committed files are out of step

Both are generated from the event catalogue and the topic catalogue, so they cannot drift from the code;
the check (also a unit test) makes every contract change a deliberate, reviewed one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from . import events, topics
from .contracts_kafka import DEAD_LETTER_HEADERS, EVENT_HEADERS, dead_letters_channel
from .envelope import CONTENT_TYPE, Envelope

DOCS = Path(__file__).resolve().parents[4] / "docs"
PUBLISHED_PREFIXES = ("market.", "registry.", "hotline.", "clues.", "inspection.", "risk.", "monitoring.",
                      "reference.", "operations.")


def published_types() -> list[str]:
    """Event types of the platform's published contracts (test and benchmark types excluded)."""
    return sorted(t for t in events.CATALOGUE if t.startswith(PUBLISHED_PREFIXES))


def _text_not_blank(node: Any) -> Any:
    """Every required text (a string of at least one character, without a pattern or format of its own) takes a
    non-whitespace character: the contracts' models strip a text's whitespace before they measure it, so a text of
    spaces alone is refused on arrival, and a sender checking against the schema must learn so beforehand."""
    if isinstance(node, list):
        return [_text_not_blank(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _text_not_blank(v) for k, v in node.items()}
    if node.get("type") == "string" and node.get("minLength", 0) >= 1 and not {"pattern", "format", "enum",
                                                                                "const"} & node.keys():
        node["pattern"] = r"\S"
    return node


def schema_of(event_type: str) -> dict[str, Any]:
    model = events.CATALOGUE[event_type]
    schema = _text_not_blank(model.model_json_schema(mode="serialization"))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://jsp.henan.gov.cn/schemas/{event_type}.json",
            **schema, "title": event_type, "description": (model.__doc__ or "").strip()}


def _message_name(event_type: str) -> str:
    return event_type.replace(".", "_").replace("-", "_")


def _limits(name: str) -> dict[str, int]:
    """The length limits the envelope's model enforces on one of its fields (a consumer refuses past them)."""
    prop = Envelope.model_json_schema()["properties"][name]
    prop = next((p for p in prop.get("anyOf", []) if p.get("type") == "string"), prop)
    return {k: v for k, v in prop.items() if k in ("minLength", "maxLength")}


ENVELOPE_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "required": ["specversion", "id", "source", "type", "time", "data"],
    "properties": {
        "specversion": {"type": "string", "const": "1.0"},
        "id": {"type": "string", **_limits("id"), "description": (
            "Unique per event across every producer (a UUID, or one prefixed by the producer): consumers "
            "de-duplicate on the id alone, not on source and id, so an event whose id was taken in before is "
            "skipped as a copy.")},
        "source": {"type": "string", **_limits("source"), "description": "The producing system, e.g. /jsp/registry."},
        "type": {"type": "string", **_limits("type")},
        "time": {"type": "string", "format": "date-time", "description": "RFC 3339, with its offset."},
        "subject": {"type": "string", **_limits("subject")},
        "datacontenttype": {"type": "string", "const": "application/json"},
        "dataschema": {"type": "string", "format": "uri", "description": "Optional: where the data's schema is."},
        "traceparent": {"type": "string", "description": "W3C trace context."},
        "tracestate": {"type": "string", "description": "W3C trace context (vendor state), optional."},
        "data": {"type": "object"},
    },
}


def _component_refs(node: Any) -> Any:
    """An event schema's own ``#/$defs/X`` references, pointed at the document's ``#/components/schemas/X``."""
    if isinstance(node, dict):
        return {k: (f"#/components/schemas/{v[len('#/$defs/'):]}" if k == "$ref" and isinstance(v, str)
                    and v.startswith("#/$defs/") else _component_refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_component_refs(v) for v in node]
    return node


def data_schema_name(event_type: str) -> str:
    """The component name of an event's ``data`` schema: its model's class name (unique in the catalogue)."""
    return events.CATALOGUE[event_type].__name__


def asyncapi_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """(component schemas, messages): every event's ``data`` schema and the schemas it shares with other events
    are components of their own, so each ``$ref`` resolves from the document root."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for t in published_types():
        schema = schema_of(t)
        for key in ("$schema", "$id"):
            schema.pop(key, None)
        for name, shared in _component_refs(schema.pop("$defs", {})).items():
            if schemas.setdefault(name, shared) != shared:
                raise ValueError(f"two event contracts define {name} differently; rename one of them")
        data_name = data_schema_name(t)
        if data_name in schemas:
            raise ValueError(f"component schema {data_name} defined twice (event {t})")
        schemas[data_name] = {**_component_refs(schema), "title": data_name}
        envelope_name = data_name + "Event"
        schemas[envelope_name] = {
            **ENVELOPE_SCHEMA, "title": envelope_name,
            "description": f"The CloudEvents envelope of a {t} event.",
            "properties": {**ENVELOPE_SCHEMA["properties"], "type": {"type": "string", "const": t},
                           "data": {"$ref": f"#/components/schemas/{data_name}"}},
        }
        messages[_message_name(t)] = {
            "name": t,
            "title": t,
            "summary": schema.get("description") or t,
            "contentType": CONTENT_TYPE,
            "payload": {"$ref": f"#/components/schemas/{envelope_name}"},
            "headers": {"$ref": "#/components/schemas/EventHeaders"},
            "bindings": {"kafka": {"key": {"type": "string", "description": "the topic's key (see the channel's "
                                                                             "x-key), e.g. the USCC"},
                                   "bindingVersion": "0.5.0"}},
        }
    return schemas, messages


def asyncapi() -> dict[str, Any]:
    schemas, messages = asyncapi_schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.CATALOGUE:
        cid = topic.name.replace("{department}", "department").replace(".", "_").replace("-", "_")
        channel: dict[str, Any] = {
            "address": topic.name,
            "description": topic.description,
            "messages": {_message_name(t): {"$ref": f"#/components/messages/{_message_name(t)}"}
                         for t in topic.event_types},
            "bindings": {"kafka": {"topic": topic.name, "partitions": topic.partitions,
                                   "topicConfiguration": {"retention.ms": topic.retention_ms,
                                                          "cleanup.policy": ["compact"] if topic.compacted else ["delete"]},
                                   "bindingVersion": "0.5.0"}},
            "x-key": topic.key,
            "x-producers": list(topic.producers),
            "x-consumers": list(topic.consumers),
        }
        if topic.per_department:
            channel["parameters"] = {"department": {
                "description": "Department code: agency and division, e.g. samr-410100 (Zhengzhou market regulation).",
                "examples": ["samr-410100"]}}
        channels[cid] = channel
        # What the platform does with the topic: it publishes (a service, the operators' tools), consumes (a
        # service's group), or both (an outside party's topic the gateway also publishes onto from HTTP).
        sends = any(p.split(" ")[0] in (*topics.SERVICES, "operators") for p in topic.producers)
        receives = any(c.split(" ")[0].split(".")[0] in topics.SERVICES for c in topic.consumers)
        for action, does, what in (("send", sends, "publishes"), ("receive", receives or not sends, "consumes")):
            if does:
                operations[f"{action}_{cid}"] = {
                    "action": action, "channel": {"$ref": f"#/channels/{cid}"},
                    "summary": f"The platform {what}: {topic.description}",
                    "messages": [{"$ref": f"#/channels/{cid}/messages/{_message_name(t)}"}
                                 for t in topic.event_types]}
    channels["dead_letters"], operations["send_dead_letters"] = dead_letters_channel()
    schemas["EventHeaders"], schemas["DeadLetterHeaders"] = EVENT_HEADERS, DEAD_LETTER_HEADERS
    messages["dead_letter"] = {
        "name": "dead-letter", "title": "A refused message, as it arrived", "contentType": "application/octet-stream",
        "summary": "The original message's bytes and headers (its value left out when too large: dlq.value_omitted), "
                   "with the reason it was refused.",
        "payload": {"type": "string", "description": "the original value, unchanged (any bytes)"},
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"}}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Joint Supervision Platform events",
            "version": "1.0.0",
            "description": "Kafka topics of Henan's cross-departmental comprehensive supervision platform. Every "
                           "message is a CloudEvents 1.0 envelope in structured JSON mode; the key (UTF-8) keeps "
                           "events of one entity in order. Keys are partitioned as the Java client does (murmur2 of "
                           "the key's bytes, positive, modulo the partitions; with kcat or librdkafka set "
                           "`partitioner=murmur2_random`), so a key sent from any client lands where the "
                           "platform's own events of that key are. A producer may compress its messages with any "
                           "codec Kafka clients write (`compression.type` gzip, snappy, lz4 or zstd) or none; the "
                           "platform publishes its own uncompressed. Department systems read only their own "
                           "`dept.<department>.` topics, with consumer group `<department>.<purpose>`; the other "
                           "parties' groups are `bureau.`, `hotline.`, `channel.website.`, `channel.association.`, "
                           "`channel.media.` (each channel writes only its own `clues.submissions.<channel>.v1` and "
                           "reads only its own `clues.replies.<channel>.v1`), "
                           "`ministry.` (ministries and the office), `judicial.` (police, procuratorate) and "
                           "`public.` (draw verifiers) followed by their purpose, as their users allow; a message "
                           "a platform group refuses goes, as it arrived, to that group's dead-letter topic "
                           "(channel dead_letters) with the reason in its headers.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                              "description": "make run / make infra-up"},
                    "cluster": {"host": "{bootstrap}", "protocol": "kafka-secure",
                                "description": "The province's cluster: TLS, each party signing in with its own "
                                               "SCRAM-SHA-512 user (its topics and group prefix as above).",
                                "variables": {"bootstrap": {"description": "the bootstrap address the operators "
                                                                           "give, e.g. jsp-kafka-bootstrap:9093"}},
                                "security": [{"$ref": "#/components/securitySchemes/scram"}]}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages, "securitySchemes": {"scram": {
            "type": "scramSha512", "description": "SCRAM-SHA-512 over TLS; users and passwords from the operators"}}},
    }


README = DOCS.parent / "README.md"
TABLE_START, TABLE_END = "<!-- topics:start -->", "<!-- topics:end -->"


def topics_markdown() -> str:
    """The README's table of topics, generated from the catalogue."""
    lines = ["| topic | key | event types | produced by | consumed by |", "|---|---|---|---|---|"]
    for t in topics.CATALOGUE:
        lines.append(f"| `{t.name}` | {t.key} | {'<br>'.join(f'`{e}`' for e in t.event_types)} | "
                     f"{', '.join(t.producers)} | {', '.join(t.consumers)} |")
    return "\n".join([TABLE_START, *lines, TABLE_END])


def readme_with_table(readme: str) -> str:
    if TABLE_START in readme:
        head, rest = readme.split(TABLE_START, 1)
        tail = rest.split(TABLE_END, 1)[1]
        return head + topics_markdown() + tail
    return readme


class _WithoutAliases(yaml.SafeDumper):
    """Every node written out where it is used: the envelope's parts are shared by every event's schema, and YAML
    aliases for them (``*id001``) are what Java's SnakeYAML refuses past 50 and Jackson reads as plain text."""

    def ignore_aliases(self, data) -> bool:
        return True


def rendered() -> dict[Path, str]:
    files = {DOCS / "asyncapi.yaml": yaml.dump(asyncapi(), Dumper=_WithoutAliases, allow_unicode=True,
                                               sort_keys=False, width=110)}
    for t in published_types():
        files[DOCS / "schemas" / f"{t}.json"] = json.dumps(schema_of(t), ensure_ascii=False, indent=2) + "\n"
    if README.exists():
        files[README] = readme_with_table(README.read_text())
    return files


def stale() -> list[Path]:
    files = rendered()
    out = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    out += [p for p in (DOCS / "schemas").glob("*.json") if p not in files]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jsp_common.contracts_export")
    parser.add_argument("--check", action="store_true", help="fail if the committed files are out of step")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for p in bad:
            print(f"out of step: {p}")
        return 1 if bad else 0
    (DOCS / "schemas").mkdir(parents=True, exist_ok=True)
    files = rendered()
    for p in (DOCS / "schemas").glob("*.json"):
        if p not in files:
            p.unlink()
    for p, text in files.items():
        p.write_text(text)
    print(f"wrote {len(files)} files under {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
