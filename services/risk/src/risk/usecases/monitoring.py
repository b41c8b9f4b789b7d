"""Off-site monitoring (非现场监管): device readings evaluated in windows, devices registered to entities.

Each poll of a partition of ``monitoring.device-readings.v1`` is one transaction: the devices' open windows
are read once, updated in memory reading by reading, and written back once, together with the partition's
last applied offset; windows that closed out of range become observations (and clues) in the same
transaction, issued through the context of the reading that closed the window (or, for a window the periodic
scan closes, under ids derived from the device and the window's start), so their ids do not depend on how the
readings were cut into polls. A reading at or below the stored offset was applied before a crash and is
skipped, so a kill -9 at any point neither loses nor repeats an alert; no inbox row or database write per
reading. A copy of a reading sent again under its event id (a platform's resend after a timeout, at a later
offset) is skipped too: each open window keeps a digest of the ids of the readings it counted
(``windows.reading_ref``), and a copy of an older window's reading is late.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jsp_common import clock, topics
from jsp_common.consumer import HandlerContext, in_rounds, wrong_key
from jsp_common.events.clues import MAX_ADDRESS_CHARS, MAX_SHORT_CHARS, ClueSubmitted, Urgency, clue_text
from jsp_common.events.risk import DeviceReadingRecorded
from jsp_common.outbox import SessionTx
from jsp_common.outbox import Transaction as Tx
from jsp_common.principal import Principal
from jsp_common.problems import Problem

from ..adapters import monitoring as mon
from ..adapters import repository as repo
from ..deps import Deps
from ..domain import windows as win
from ..domain.model import MetricProfile, RiskModel, Source
from . import scoring


def _due(w: win.Window, p: MetricProfile, partition: int | None = None
         ) -> tuple[win.Window, datetime | None, datetime | None, int | None]:
    due = w.start + timedelta(seconds=p.window_s) if w.readings else None
    silent = (w.last_seen + timedelta(seconds=p.heartbeat_timeout_s)
              if p.heartbeat_timeout_s and w.last_seen and w.silent_since is None else None)
    return w, due, silent, partition


def problem_with(r: DeviceReadingRecorded, key: str | None, reg: dict | None, model: RiskModel) -> str | None:
    """Why a reading cannot be evaluated (dead-lettered with this reason), or None. ``key``: the message's Kafka key,
    which must be the device id (the topic's key): a device's readings on other partitions would be applied out of
    order, and a reading older than its device's open window counts for nothing (a leak applied after a later
    reading would be lost unseen)."""
    if refused := wrong_key(key, expected=r.device_id, field="device_id", what=f"reading of device {r.device_id}",
                            kept_together="a device's readings"):
        return refused
    if reg is None:
        return f"unknown device {r.device_id}: register it to its entity first (PUT /risk/devices/{r.device_id})"
    if reg["uscc"] != r.uscc:
        return f"device {r.device_id} is registered to {reg['uscc']}, not {r.uscc}"
    if reg["metric"] != r.metric:
        return f"device {r.device_id} measures {reg['metric']}, not {r.metric}"
    profile = model.metric(r.metric)
    if profile is None:
        return f"metric {r.metric} is not in the risk model (version in force)"
    if r.unit != profile.unit:
        return f"unit {r.unit!r} does not match metric {r.metric}, measured in {profile.unit!r}"
    return None


async def readings(deps: Deps, contexts: list[HandlerContext]) -> None:
    """A poll's readings of one partition (batch handler of the monitoring group)."""
    session = contexts[0].session
    group = deps.settings.monitoring_group
    applied = await mon.applied_offsets(session, group, sorted({(c.delivery.topic, c.delivery.partition)
                                                                for c in contexts}))
    version, model = await deps.model.get(session)
    known = await mon.devices_with_windows(session, sorted({c.data.device_id for c in contexts}))  # type: ignore[attr-defined]
    open_windows: dict[str, tuple[win.Window, MetricProfile, int]] = {}
    closed: list[Ended] = []
    last: dict[tuple[str, int], tuple[int, datetime]] = {}
    now = clock.now()  # a partition's event time goes no further: a device set years ahead would make it stay there
    for c in contexts:
        r: DeviceReadingRecorded = c.data  # type: ignore[assignment]
        d = c.delivery
        reg, stored = known.get(r.device_id, (None, None))
        reason = problem_with(r, d.key_str, reg, model)
        if reason is not None:
            c.dead_letter(reason)  # dead-lettered again if redelivered: the reason does not depend on state
            continue
        if d.offset <= applied.get((d.topic, d.partition), -1):
            continue  # applied before a crash, with the window state below
        seen = last.get((d.topic, d.partition))
        at = min(r.measured_at, now)
        last[(d.topic, d.partition)] = (d.offset, at if seen is None else max(seen[1], at))
        profile = model.metric(r.metric)
        assert profile is not None and reg is not None
        w = open_windows[r.device_id][0] if r.device_id in open_windows else \
            stored or win.new_window(r.device_id, r.measured_at, profile)
        w, done = win.apply(w, profile, value=r.value, at=r.measured_at, heartbeat=r.kind == "heartbeat",
                            now=now, ref=win.reading_ref(c.envelope.id))
        open_windows[r.device_id] = (w, profile, d.partition)
        if done is not None:
            closed.append((c, reg, profile, done))
    await mon.save_windows(session, [_due(w, p, part) for w, p, part in open_windows.values()])
    await mon.save_offsets(session, group, last)
    await out_of_range(deps, closed, model)


# A window that ended: the transaction its effects are issued through, the device's registration, its metric.
Ended = tuple[Tx, dict, MetricProfile, win.Closed]


async def out_of_range(deps: Deps, closed: list[Ended], model: RiskModel) -> None:
    """Windows that ended out of range: an observation each for the entity, and a clue where the rule says,
    issued through the window's own transaction; an entity with several such windows is re-scored after each
    (``consumer.in_rounds``)."""
    now = clock.now()
    for ended in in_rounds(closed, key=lambda e: e[1]["uscc"]):
        rows = []
        named: dict[str, list[str]] = {}
        for tx, reg, profile, c in ended:
            ref = f"{c.device_id}:{c.start.isoformat()}"
            # observed when it ended, or now for a device whose clock runs ahead (the scores count nothing later)
            rows += [{"uscc": reg["uscc"], "indicator": i.code, "ref": ref, "at": min(c.end, now)}
                     for i in model.indicators_of(Source.DEVICE_OUT_OF_RANGE, profile.metric)]
            if not (profile.alert_agencies or c.raise_clue):
                continue
            entity = await repo.entity(tx.session, reg["uscc"])  # the directory's record, if it has one
            if profile.alert_agencies:  # e.g. the gas authority of the entity's city, for a gas leak
                named.setdefault(reg["uscc"], []).extend(
                    profile.alerted_departments(entity["division_code"] if entity else None))
            if c.raise_clue:
                await raise_clue(tx, reg, entity, profile, c)
        await scoring.observe(deps, ended[0][0], rows, departments=named, now=now,
                              issued_by={reg["uscc"]: tx for tx, reg, _, _ in ended})


async def raise_clue(tx: Tx, reg: dict, entity: dict | None, profile: MetricProfile, c: win.Closed) -> None:
    """A clue on the clues service's intake topic (线索自动触发), routed like any other clue; ``entity``: the
    directory's record of the device's entity (None: not in the replica yet)."""
    name = clue_text(entity["name"], MAX_SHORT_CHARS) if entity else reg["uscc"]
    local = clock.as_local(c.start)
    ref = win.clue_ref(c.device_id, local)
    await tx.emit(topics.CLUE_SUBMISSIONS, ClueSubmitted(
        # received now, whatever the device's clock says (its window's time is in the text): a device set wrong
        # (Beijing time marked UTC, a clock back in 1970) would give a time no clue may have
        channel="risk", channel_ref=ref, received_at=clock.now(), uscc=reg["uscc"],
        business_name=name if entity else None,
        address=clue_text(entity["address"], MAX_ADDRESS_CHARS) if entity else None,
        division_code=entity["division_code"] if entity else None,
        domain=profile.domain, urgency=Urgency.URGENT, category=f"monitoring:{profile.metric}",
        content=f"{profile.name}超限（物联网监测自动触发）：{name}的设备{c.device_id}在{local:%Y-%m-%d %H:%M}起的"
                f"{profile.window_s}秒内{c.breaches}次超过限值{profile.limit:g}{profile.unit}，最高{c.worst:g}{profile.unit}"
                f"（触发值{profile.clue_at:g}{profile.unit}）。请立即核查处置。"), key=ref)


async def scan_windows(deps: Deps) -> int:
    """Close windows whose devices went quiet and report devices that missed their heartbeat, by the event time
    of their partition (periodic job, one transaction per round). Returns how many windows it looked at. What a
    window or a silent device issues takes ids derived from the device and the window's start (the time it was
    last seen), as ``SessionTx.caused_by``."""
    s = deps.settings
    async with deps.db.transaction() as session:
        scan = SessionTx(session, deps.source)
        version, model = await deps.model.get(session)
        found = await mon.windows_to_check(session, s.monitoring_group, topics.DEVICE_READINGS, s.window_grace_s,
                                           s.window_scan_batch, [m.metric for m in model.metrics])
        closed: list[Ended] = []
        saved, silent = [], []
        for reg, w, now in found:
            profile = model.metric(reg["metric"])
            assert profile is not None  # only the metrics of the model in force are looked at
            if win.due(w, profile, now, s.window_grace_s):
                w, done = win.flush(w, profile)
                if done is not None:
                    closed.append((scan.caused_by("risk.window", done.device_id, done.start.isoformat()), reg,
                                   profile, done))
            if win.silent(w, profile, now):
                ref = f"{w.device_id}:silent:{w.last_seen.isoformat()}"
                silent.append((scan.caused_by("risk.device-silent", ref), reg["uscc"], [
                    {"uscc": reg["uscc"], "indicator": i.code, "at": now, "ref": ref}
                    for i in model.indicators_of(Source.DEVICE_SILENT, profile.metric)]))
                w = win.Window(**{**w.__dict__, "silent_since": now})
            saved.append(_due(w, profile))
        await mon.save_windows(session, saved)
        await out_of_range(deps, closed, model)
        for quiet in in_rounds(silent, key=lambda s: s[1]):
            await scoring.observe(deps, scan, [r for _, _, rows in quiet for r in rows], now=clock.now(),
                                  issued_by={uscc: tx for tx, uscc, _ in quiet})
    return len(found)


async def register_device(deps: Deps, tx: Tx, device_id: str, *, uscc: str, metric: str, actor: Principal) -> dict:
    _, model = await deps.model.get(tx.session)
    if model.metric(metric) is None:
        # the model in force decides (it changes by version): a conflict with it, not a fault of the request
        raise Problem(409, f"metric {metric} is not in the risk model in force",
                      errors=[{"field": "metric", "reason": "known: " + ", ".join(m.metric for m in model.metrics)}])
    return await mon.register_device(tx.session, device_id=device_id, uscc=uscc, metric=metric, by=actor.subject)
