"""The set comparison, from outside the services: what was accepted (``Sent``) against what the topics and the
databases hold. Every accepted input must have exactly one effect of each kind, per-key order must hold, every
poison message must be in its dead-letter topic with a reason, and every consumer group's lag must be zero.

Deliveries are at least once: a copy of an event (same envelope id) is one effect; two events with different
ids for one input are a duplicate effect."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from jsp_common import topics
from jsp_common.offsets import read_to_end
from jsp_common.envelope import Envelope, EnvelopeError

from .traffic import POISON_TARGETS, Sent


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, bytes]
    envelope: Envelope | None


async def read_topics(client_options: dict, names: Iterable[str]) -> list[Message]:
    """Every message of ``names``, from the beginning to the end they have now."""
    out: list[Message] = []
    async for records in read_to_end(sorted(set(names)), max_records=5000,
                                     max_partition_fetch_bytes=4 * 1024 * 1024, **client_options):
        for r in records:
            try:
                env = Envelope.from_bytes(r.value)
            except EnvelopeError:
                env = None
            out.append(Message(r.topic, r.partition, r.offset, r.key.decode(errors="replace") if r.key else None,
                               {k: v for k, v in (r.headers or ())}, env))
    return out


async def group_lags(client_options: dict) -> dict[str, int]:
    """Each of our services' consumer groups: messages not yet consumed (end offset minus committed offset)
    over the partitions it has committed on."""
    positions = await group_positions(client_options)
    return {g: sum(max(0, end - off) for off, end in offsets.values()) for g, offsets in positions.items()}


async def group_positions(client_options: dict) -> dict[str, dict]:
    """Each of our services' consumer groups: per partition it has committed on, (committed offset, end offset).
    A committed offset past the end (the log shorter than what a group read) shows here, not in a lag."""
    groups = sorted(topics.consumer_groups())
    admin = AIOKafkaAdminClient(**client_options)
    await admin.start()
    c = AIOKafkaConsumer(enable_auto_commit=False, group_id=None, **client_options)
    await c.start()
    try:
        existing = await c.topics()  # a group may have committed on a test's topic deleted since
        committed = {g: {tp: om.offset for tp, om in (await admin.list_consumer_group_offsets(g)).items()
                         if om.offset >= 0 and tp.topic in existing} for g in groups}
        every = sorted({tp for offsets in committed.values() for tp in offsets})
        c.assign(every)  # the client learns these partitions' leaders
        ends = await c.end_offsets(every) if every else {}
        return {g: {tp: (off, ends[tp]) for tp, off in offsets.items()} for g, offsets in committed.items()}
    finally:
        await c.stop()
        await admin.close()


@dataclass
class Row:
    kind: str
    sent: int = 0
    applied: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    def one(self, what: str, n: int) -> None:
        self.sent += 1
        if n == 1:
            self.applied += 1
        elif n == 0:
            self.lost.append(what)
        else:
            self.duplicated.append(f"{what} x{n}")

    def counted(self, what: str, sent: int, effects: int) -> None:
        """``sent`` inputs of one key whose effects are counted together (a version, a window's counter)."""
        self.sent += sent
        self.applied += min(sent, effects)
        self.lost += [f"{what}: {sent - effects} of {sent}"] * max(0, sent - effects)
        self.duplicated += [f"{what}: {effects} effects of {sent}"] * max(0, effects - sent)


@dataclass
class Report:
    rows: list[Row]
    order_violations: list[str]
    dead_lettered: int
    poison: int
    poison_missing: list[str]
    lags: dict[str, int]
    whereabouts: list[str] = field(default_factory=list)  # of each input not applied: on its topic or not

    @property
    def lost(self) -> int:
        return sum(len(r.lost) for r in self.rows)

    @property
    def duplicated(self) -> int:
        return sum(len(r.duplicated) for r in self.rows)

    def text(self) -> str:
        lines = [f"{'effect':44} {'sent':>7} {'applied':>8} {'lost':>5} {'duplicated':>10}"]
        for r in self.rows:
            lines.append(f"{r.kind:44} {r.sent:7} {r.applied:8} {len(r.lost):5} {len(r.duplicated):10}")
        lines.append(f"{'total':44} {sum(r.sent for r in self.rows):7} {sum(r.applied for r in self.rows):8} "
                     f"{self.lost:5} {self.duplicated:10}")
        lines.append(f"dead-lettered: {self.dead_lettered} of {self.poison} poison messages (with a reason)")
        lines.append(f"per-key order violations: {len(self.order_violations)}")
        lines.append("consumer group lag: " + ", ".join(f"{g} {n}" for g, n in self.lags.items()))
        for r in self.rows:
            for what in (r.lost[:5] + r.duplicated[:5]):
                lines.append(f"  {r.kind}: {what}")
        lines += [f"  order: {v}" for v in self.order_violations[:10]]
        lines += [f"  not dead-lettered: {p}" for p in self.poison_missing[:10]]
        lines += [f"  where: {w}" for w in self.whereabouts]
        return "\n".join(lines)


async def _rows(url: str, sql: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def _distinct(msgs: Iterable[Message]) -> dict[str, Message]:
    """One message per envelope id (a redelivered copy is the same event)."""
    return {m.envelope.id: m for m in msgs if m.envelope is not None}


async def compare(sent: Sent, *, client_options: dict, databases: dict[str, str]) -> Report:
    """``databases``: service name -> its database URL (libpq form)."""
    usccs = sorted(sent.registrations)
    orders = sorted(sent.work_orders)
    registry = {r["uscc"]: r for r in await _rows(
        databases["registry"], "SELECT uscc, name, version, departments FROM entities WHERE uscc = ANY($1)", usccs)}
    replicas = {svc: {r["uscc"]: r["version"] for r in await _rows(
        databases[svc], "SELECT uscc, version FROM replica_entities WHERE uscc = ANY($1)", usccs)}
        for svc in ("clues", "inspection", "risk")}
    clue_rows = await _rows(databases["clues"], "SELECT id, channel_ref, lead_department, co_departments FROM clues "
                                                "WHERE channel = 'hotline' AND channel_ref = ANY($1)", orders)
    windows = {r["device_id"]: r["readings"] for r in await _rows(
        databases["risk"], "SELECT device_id, readings FROM device_windows WHERE device_id = ANY($1)", list(sent.devices))}
    devices = {r["device_id"] for r in await _rows(
        databases["risk"], "SELECT device_id FROM devices WHERE device_id = ANY($1)", list(sent.devices))}

    departments = {d for r in registry.values() for d in r["departments"]}
    departments |= {d for r in clue_rows for d in [r["lead_department"], *r["co_departments"]] if d}
    poison_topics = {topics.dead_letter_topic(t, g) for t, _, _ in sent.poison for g in topics.by_name(t).service_groups}
    inbound = [topics.MARKET_REGISTRATIONS, topics.HOTLINE_WORK_ORDERS, topics.DEVICE_READINGS]
    dlq_of_inbound = {topics.dead_letter_topic(t, g) for t in inbound for g in topics.by_name(t).service_groups}
    msgs = await read_topics(client_options, [
        topics.REGISTRATION_RECEIPTS, topics.REGISTRY_ENTITIES, topics.HOTLINE_REPLIES, *poison_topics, *dlq_of_inbound,
        *(topics.department_topic(topics.NOTIFICATIONS, d) for d in departments),
        *(topics.department_topic(topics.DEPARTMENT_CLUES, d) for d in departments)])
    by_topic: dict[str, list[Message]] = defaultdict(list)
    for m in msgs:
        by_topic[m.topic].append(m)

    # registrations: one receipt per event, the directory at the last change (one version per event), the
    # record published in order, each service's replica at that version, one notification per department
    receipts = Counter(m.envelope.data.get("event_id") for m in _distinct(by_topic[topics.REGISTRATION_RECEIPTS]).values()
                       if m.envelope.type == "registry.registration.accepted.v1")
    published: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
    for m in by_topic[topics.REGISTRY_ENTITIES]:
        if m.envelope is not None and m.key in sent.registrations:
            published[m.key].append((m.partition, m.offset, m.envelope.data["record_version"], m.envelope.id))
    issued: Counter = Counter()
    for d in departments:
        for m in _distinct(by_topic[topics.department_topic(topics.NOTIFICATIONS, d)]).values():
            data = m.envelope.data
            if m.envelope.type == "registry.notification.issued.v1" and data.get("kind") == "new_responsibility":
                issued[(data["entity"]["uscc"], data["department"])] += 1
    rows = {k: Row(k) for k in ("registration receipt", "directory change", "directory in order (last name)",
                                "replica at clues, inspection, risk", "notification per department",
                                "work order: clue", "work order: receipt to 12345", "clue: dispatch per department",
                                "device registration (API)", "device reading counted in its window")}
    order: list[str] = []
    for uscc, chain in sent.registrations.items():
        for event_id, type_, _ in chain:
            rows["registration receipt"].one(f"{uscc} {type_} {event_id}", receipts[event_id])
        rec = registry.get(uscc)
        version = rec["version"] if rec else 0
        rows["directory change"].counted(uscc, len(chain), version)  # one version per event
        rows["directory in order (last name)"].one(uscc, int(rec is not None and rec["name"] == chain[-1][2]))
        # In log order, as a consumer that skips copies it has seen (its inbox) takes them: a relay that died
        # after publishing and before marking its batch sent publishes the batch again, under the same ids.
        first: dict[str, int] = {}
        for _, _, v, event_id in sorted(published[uscc]):
            first.setdefault(event_id, v)
        seen = list(first.values())
        if seen != sorted(seen) or not seen or seen[-1] != version:
            order.append(f"{uscc}: registry.entities.v1 versions {seen}, directory at {version}")
        for svc, versions in replicas.items():
            rows["replica at clues, inspection, risk"].one(f"{svc} {uscc}", int(versions.get(uscc) == version))
        for d in (rec["departments"] if rec else []):
            rows["notification per department"].one(f"{uscc} -> {d}", issued[(uscc, d)])

    # work orders: one clue each, one receipt to the hotline, one dispatch per department it went to
    clues_of = defaultdict(list)
    for r in clue_rows:
        clues_of[r["channel_ref"]].append(r)
    accepted = Counter(m.envelope.data.get("channel_ref") for m in _distinct(by_topic[topics.HOTLINE_REPLIES]).values()
                       if m.envelope.type == "clues.submission.accepted.v1" and not m.envelope.data.get("resent"))
    dispatched: Counter = Counter()
    for d in departments:
        for m in _distinct(by_topic[topics.department_topic(topics.DEPARTMENT_CLUES, d)]).values():
            if m.envelope.type == "clues.clue.dispatched.v1":
                dispatched[(m.envelope.data["clue_id"], d)] += 1
    for no in orders:
        rows["work order: clue"].one(no, len(clues_of[no]))
        rows["work order: receipt to 12345"].one(no, accepted[no])
        for r in clues_of[no]:
            for d in [r["lead_department"], *r["co_departments"]] if r["lead_department"] else []:
                rows["clue: dispatch per department"].one(f"{r['id']} -> {d}", dispatched[(r["id"], d)])

    # devices: the office's registration, and each reading counted once in the device's window
    for device, (_, n) in sent.devices.items():
        rows["device registration (API)"].one(device, int(device in devices))
        rows["device reading counted in its window"].counted(device, n, windows.get(device, 0))

    # an accepted input in a dead-letter topic was not applied: lost
    ours = set(sent.registrations) | set(sent.work_orders) | set(sent.devices)
    for t in dlq_of_inbound:
        for m in by_topic[t]:
            if m.key in ours:
                rows["registration receipt" if t.startswith(topics.MARKET_REGISTRATIONS) else
                     "work order: clue" if t.startswith(topics.HOTLINE_WORK_ORDERS) else
                     "device reading counted in its window"].lost.append(
                    f"dead-lettered {m.key}: {m.headers.get('dlq.reason', b'').decode()}")

    # poison: in the dead-letter topic of every group that reads its topic, with a reason
    reasons = {(m.topic, m.key) for t in poison_topics for m in by_topic[t] if m.headers.get("dlq.reason")}
    missing = [f"{t} {k} ({kind}) -> {topics.dead_letter_topic(t, g)}" for t, k, kind in sent.poison
               for g in topics.by_name(t).service_groups if (topics.dead_letter_topic(t, g), k) not in reasons]
    expected = sum(len(topics.by_name(t).service_groups) for t, _, _ in sent.poison)
    lost_ids = {event_id for chain in sent.registrations.values() for event_id, _, _ in chain if not receipts[event_id]}
    lost_ids |= {event_id for no, event_id in sent.work_orders.items() if not clues_of[no]}
    lost_keys = {k for t, k, _ in sent.poison if any((topics.dead_letter_topic(t, g), k) not in reasons
                                                      for g in topics.by_name(t).service_groups)}
    where = await _whereabouts(client_options, lost_ids, lost_keys) if lost_ids or lost_keys else []
    return Report(list(rows.values()), order, expected - len(missing), expected, missing,
                  await group_lags(client_options), where)


async def _whereabouts(client_options: dict, event_ids: set[str], keys: set[str]) -> list[str]:
    """Where the inputs that took no effect are: on their inbound topic (at which offset, against each reading
    group's committed offset there) or not on it at all; the first lines, then a count."""
    inbound = sorted({topics.MARKET_REGISTRATIONS, topics.HOTLINE_WORK_ORDERS, *POISON_TARGETS})
    found: dict[str, Message] = {}
    for m in await read_topics(client_options, inbound):
        if m.envelope is not None and m.envelope.id in event_ids:
            found[m.envelope.id] = m
        elif m.key in keys:
            found[m.key] = m
    positions = await group_positions(client_options)
    lines = []
    for what in sorted(event_ids | keys):
        m = found.get(what)
        if m is None:
            lines.append(f"{what}: not on its inbound topic")
            continue
        groups = ", ".join(f"{g} committed {offsets[tp][0]} of {offsets[tp][1]}"
                           for g, offsets in positions.items() for tp in offsets
                           if (tp.topic, tp.partition) == (m.topic, m.partition))
        lines.append(f"{what}: {m.topic}[{m.partition}]@{m.offset} ({groups or 'no group committed there'})")
    on_topic = sum(1 for w in event_ids | keys if w in found)
    return lines[:40] + [f"{on_topic} of {len(event_ids | keys)} on their inbound topic"]
