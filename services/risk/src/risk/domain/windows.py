"""Device readings evaluated in tumbling windows, per device (pure).

Each device has one open window (``window_s`` of its metric, aligned to local midnight in the province's time
zone, ``jsp_common.clock.TZ``: a daily window runs from midnight to midnight, 3-hour windows start at 00:00, 03:00,
... local time). A reading of the open
window updates its counters; a reading of a later window closes the open one first; a reading older than
the open window is late and only counted as such. A closed window with at least ``min_breaches`` readings
beyond the limit is out of range: one observation for the entity, and a clue when its worst value reaches
``clue_at`` (at most once per ``clue_cooldown_s`` per device). A copy of a reading the open window counted among
its latest ``SEEN_KEPT`` (the same event id, resent by a platform after a timeout) is skipped; a copy of an older window's reading is late. No
per-reading state survives the window: only the counters below and the digests of the readings it counted.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from jsp_common import clock
from jsp_common.events.clues import MAX_REF_CHARS

from .model import MetricProfile

# Windows are counted from a local midnight (China keeps one offset all year round since 1991).
LOCAL_EPOCH = datetime(1970, 1, 1, tzinfo=clock.TZ).astimezone(timezone.utc)


@dataclass(frozen=True)
class Window:
    """The open window of one device."""

    device_id: str
    start: datetime
    readings: int = 0
    breaches: int = 0
    worst: float | None = None       # the value furthest beyond the limit direction (max above, min below)
    last_seen: datetime | None = None
    last_clue_at: datetime | None = None
    silent_since: datetime | None = None  # set once a missed heartbeat was observed, until the next message
    late: int = 0
    seen: tuple[int, ...] = ()       # the readings counted in this window, by ``reading_ref`` of their event id


@dataclass(frozen=True)
class Closed:
    """A window that ended out of range."""

    device_id: str
    start: datetime
    end: datetime
    readings: int
    breaches: int
    worst: float
    raise_clue: bool


# The latest readings an open window remembers by their ids: a resend arrives within seconds of its original, and a
# day-long window of a reading every two seconds would otherwise keep (and store, every poll) 43,200 of them.
SEEN_KEPT = 256


def reading_ref(event_id: str) -> int:
    """What a window keeps of a reading it counted: a 64-bit digest of its event id (eight bytes a reading, however
    long the id; two of one device's readings in one window sharing one is beyond any real chance)."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big", signed=True)


def window_start(at: datetime, window_s: int) -> datetime:
    """The start of the window holding ``at``: windows of ``window_s`` seconds counted from a local midnight."""
    seconds = math.floor((at - LOCAL_EPOCH).total_seconds())
    return LOCAL_EPOCH + timedelta(seconds=seconds - seconds % window_s)


def new_window(device_id: str, at: datetime, profile: MetricProfile) -> Window:
    return Window(device_id=device_id, start=window_start(at, profile.window_s))


def _worse(profile: MetricProfile, a: float | None, b: float) -> float:
    if a is None:
        return b
    return max(a, b) if profile.direction == "above" else min(a, b)


def close(w: Window, profile: MetricProfile) -> Closed | None:
    """The out-of-range verdict of a window that ends now (None: in range or empty)."""
    if w.breaches < profile.min_breaches or w.worst is None:
        return None
    end = datetime.fromtimestamp(w.start.timestamp() + profile.window_s, tz=timezone.utc)
    clue = profile.clue_at is not None and not profile.breaches(profile.clue_at, w.worst) and (
        w.last_clue_at is None or (end - w.last_clue_at).total_seconds() >= profile.clue_cooldown_s)
    return Closed(w.device_id, w.start, end, w.readings, w.breaches, w.worst, clue)


def apply(w: Window, profile: MetricProfile, *, value: float, at: datetime, heartbeat: bool, now: datetime,
          ref: int | None = None) -> tuple[Window, Closed | None]:
    """Add one reading (or heartbeat) of the device, arriving at ``now``; returns its window now and a window it
    closed, if any. ``ref``: the reading's ``reading_ref``; a reading the open window counted already (the same
    event sent again) changes nothing. A reading older than the open window is late, unless the open window is
    ahead of ``now`` and the reading is not: the device's clock ran ahead (once, or for a while) and was set right,
    so the open window ends and its windows follow its clock again (else every reading from then on was late, and
    the device was never evaluated again)."""
    if ref is not None and ref in w.seen:
        return w, None
    start = window_start(at, profile.window_s)
    # Before the open window: late. A window opened before windows were aligned to local midnight (a UTC-aligned one
    # open when the service was upgraded) takes the readings of its span, and the first of a later window closes it.
    set_right = at < w.start and at <= now < w.start
    if at < w.start and not set_right:
        seen = at if w.last_seen is None or at > w.last_seen else w.last_seen
        return replace(w, late=w.late + 1, last_seen=seen, silent_since=None), None
    closed = None
    if start > w.start or set_right:
        closed = close(w, profile)
        last_clue, last_seen = closed.end if closed is not None and closed.raise_clue else w.last_clue_at, w.last_seen
        if set_right:  # times ahead of the wall clock would hold the clues' cool-down and the silence check off
            last_clue, last_seen = min(last_clue, now) if last_clue else None, None
        w = Window(device_id=w.device_id, start=start, last_seen=last_seen, last_clue_at=last_clue)
    seen = at if w.last_seen is None or at > w.last_seen else w.last_seen
    if heartbeat:
        return replace(w, last_seen=seen, silent_since=None), closed
    breach = profile.breaches(value, profile.limit)
    return replace(w, last_seen=seen, silent_since=None, readings=w.readings + 1, breaches=w.breaches + breach,
                   worst=_worse(profile, w.worst, value) if breach else w.worst,
                   seen=w.seen if ref is None else (*w.seen[1 - SEEN_KEPT:], ref)), closed


def due(w: Window, profile: MetricProfile, now: datetime, grace_s: float) -> bool:
    """Whether a window has ended (plus a grace period for stragglers) with nothing newer arriving."""
    return w.readings > 0 and now.timestamp() >= w.start.timestamp() + profile.window_s + grace_s


def flush(w: Window, profile: MetricProfile) -> tuple[Window, Closed | None]:
    """Close a due window without a newer reading (the device went quiet)."""
    closed = close(w, profile)
    last_clue = closed.end if closed is not None and closed.raise_clue else w.last_clue_at
    start = window_start(w.start + timedelta(seconds=profile.window_s), profile.window_s)
    return Window(device_id=w.device_id, start=start, last_seen=w.last_seen, last_clue_at=last_clue,
                  silent_since=w.silent_since), closed


def silent(w: Window, profile: MetricProfile, now: datetime) -> bool:
    """A device that has not been heard for longer than its heartbeat timeout (and not yet reported)."""
    return (profile.heartbeat_timeout_s is not None and w.last_seen is not None and w.silent_since is None
            and (now - w.last_seen).total_seconds() > profile.heartbeat_timeout_s)


def clue_ref(device_id: str, start_local: datetime) -> str:
    """The reference of the clue a window raises: the device and the window's start (local time), within a
    clue reference's 64 characters; a device id too long for that is named by a digest of it, so two devices
    (or two windows) never share one (the clues service takes a known reference for a resend)."""
    at = f"{start_local:%Y%m%dT%H%M%S}"
    ref = f"device:{device_id}:{at}"
    if len(ref) <= MAX_REF_CHARS:
        return ref
    return f"device:{hashlib.sha256(device_id.encode()).hexdigest()[:24]}:{at}"
