"""Device readings in tumbling windows: one observation per window out of range, clues with a cool-down."""

from datetime import datetime, timedelta, timezone
from typing import Annotated

import pytest
from pydantic import TypeAdapter, ValidationError

from jsp_common.events.clues import ClueSubmitted
from jsp_common.events.risk import DeviceReadingRecorded
from risk.domain.windows import SEEN_KEPT, Window, apply, clue_ref, due, flush, new_window, reading_ref, silent

T0 = datetime(2026, 3, 2, 2, 0, 0, tzinfo=timezone.utc)


def feed(profile, values_at, w=None):
    w = w or new_window("gd-1", values_at[0][1], profile)
    closed = []
    for v, at in values_at:
        w, done = apply(w, profile, value=v, at=at, heartbeat=False, now=max(at, T0 + timedelta(days=1)))
        if done:
            closed.append(done)
    return w, closed


def test_a_window_over_the_limit_is_one_observation_however_many_readings(starter):
    gas = starter.metric("gas_lel")  # limit 25 %LEL, 60 s windows, clue at 50
    w, closed = feed(gas, [(30, T0 + timedelta(seconds=s)) for s in range(0, 60, 5)])
    assert closed == [] and w.readings == 12 and w.breaches == 12 and w.worst == 30
    w, closed = feed(gas, [(0, T0 + timedelta(seconds=61))], w)  # the next window closes this one
    assert len(closed) == 1 and closed[0].breaches == 12 and not closed[0].raise_clue
    assert w.start == T0 + timedelta(seconds=60) and w.readings == 1 and w.breaches == 0


def test_readings_in_range_close_nothing_and_late_readings_are_counted_only(starter):
    gas = starter.metric("gas_lel")
    w, closed = feed(gas, [(5, T0), (10, T0 + timedelta(seconds=70)), (80, T0 + timedelta(seconds=10))])
    assert closed == [] and w.late == 1 and w.breaches == 0


def test_a_reading_sent_again_under_its_id_counts_once(starter):
    """A cold-chain reading of -10 °C resent twice under its event id is one reading beyond the limit, not the
    three in one window that make an excursion; another reading at the same time counts, and the next window
    starts with nothing seen."""
    cold = starter.metric("cold_chain_temp")  # -18 °C, three readings beyond it in 30 minutes
    now = T0 + timedelta(days=1)
    w = new_window("cc-1", T0, cold)
    for _ in range(3):
        w, done = apply(w, cold, value=-10, at=T0, heartbeat=False, now=now, ref=reading_ref("ev-1"))
        assert done is None
    assert (w.readings, w.breaches, w.seen) == (1, 1, (reading_ref("ev-1"),))
    w, _ = apply(w, cold, value=-11, at=T0, heartbeat=False, now=now, ref=reading_ref("ev-2"))
    assert (w.readings, w.breaches) == (2, 2)
    w, done = apply(w, cold, value=-25, at=T0 + timedelta(seconds=1800), heartbeat=False, now=now,
                    ref=reading_ref("ev-3"))
    assert done is None and w.seen == (reading_ref("ev-3"),) and w.readings == 1
    w, _ = apply(w, cold, value=-10, at=T0, heartbeat=False, now=now, ref=reading_ref("ev-1"))  # the old window's
    assert (w.readings, w.late) == (1, 1)
    assert reading_ref("ev-1") != reading_ref("ev-2") and -2**63 <= reading_ref("x" * 200) < 2**63


def test_a_long_window_remembers_its_latest_readings_only(starter):
    """A day-long window of a reading every two seconds kept every id: 43,200 of them, searched and copied at each
    reading and written back every poll. It keeps the latest SEEN_KEPT, and a resend of one of them still counts
    once."""
    gas = starter.metric("gas_lel")
    w = new_window("gas-9", T0, gas)
    for i in range(3 * SEEN_KEPT):
        w, _ = apply(w, gas, value=1, at=T0 + timedelta(seconds=i % 50), heartbeat=False, now=T0,
                     ref=reading_ref(f"ev-{i}"))
    assert len(w.seen) == SEEN_KEPT and w.seen[-1] == reading_ref(f"ev-{3 * SEEN_KEPT - 1}")
    again, _ = apply(w, gas, value=1, at=T0, heartbeat=False, now=T0, ref=reading_ref(f"ev-{3 * SEEN_KEPT - 5}"))
    assert again.readings == w.readings == 3 * SEEN_KEPT


def test_a_device_clock_set_right_after_running_ahead_is_evaluated_again(starter):
    """One reading dated 2099 (a clock glitch), then the right time: the readings are not late for ever after, and
    neither the glitch's clue cool-down nor its last-seen time holds the device's clues and silence off."""
    gas = starter.metric("gas_lel")  # limit 25, clue at 50, heartbeat timeout 300 s
    now = T0 + timedelta(seconds=30)
    w = new_window("gd-1", T0, gas)
    w, _ = apply(w, gas, value=60, at=datetime(2099, 1, 1, tzinfo=timezone.utc), heartbeat=False, now=now)
    w, glitch = apply(w, gas, value=70, at=T0, heartbeat=False, now=now)
    assert glitch is not None and glitch.raise_clue and w.start == T0 and w.late == 0 and w.readings == 1
    assert w.last_clue_at == now and w.last_seen == T0
    w, closed = apply(w, gas, value=0, at=T0 + timedelta(seconds=60), heartbeat=False, now=now + timedelta(seconds=60))
    assert closed is not None and closed.worst == 70 and not closed.raise_clue  # the glitch's clue an hour ago
    w, closed = apply(w, gas, value=80, at=T0 + timedelta(hours=2), heartbeat=False, now=now + timedelta(hours=2))
    assert silent(w, gas, T0 + timedelta(hours=2, minutes=10))
    # A reading late while the device runs ahead of the wall clock stays late.
    ahead = T0 + timedelta(hours=8)
    w, _ = apply(new_window("gd-2", ahead, gas), gas, value=5, at=ahead, heartbeat=False, now=T0)
    w, done = apply(w, gas, value=90, at=ahead - timedelta(minutes=5), heartbeat=False, now=T0)
    assert done is None and w.late == 1 and w.start == window_start_of(ahead, gas)


def window_start_of(at, profile):
    return new_window("any", at, profile).start


def test_a_clue_once_per_cool_down_per_device(starter):
    gas = starter.metric("gas_lel")  # clue at 50, at most one clue an hour
    w, closed = feed(gas, [(55, T0), (0, T0 + timedelta(seconds=60)), (60, T0 + timedelta(seconds=120)),
                           (0, T0 + timedelta(seconds=180))])
    assert [c.raise_clue for c in closed] == [True, False]
    w, closed = feed(gas, [(60, T0 + timedelta(hours=2)), (0, T0 + timedelta(hours=2, seconds=60))], w)
    assert [c.raise_clue for c in closed] == [True]


def test_sustained_excursion_needs_several_readings(starter):
    cold = starter.metric("cold_chain_temp")  # above -18 degC, 3 readings in 30 minutes
    _, closed = feed(cold, [(-10, T0), (-12, T0 + timedelta(minutes=5)), (-20, T0 + timedelta(minutes=40))])
    assert closed == []
    _, closed = feed(cold, [(-10, T0), (-12, T0 + timedelta(minutes=5)), (-15, T0 + timedelta(minutes=9)),
                            (-20, T0 + timedelta(minutes=40))])
    assert len(closed) == 1 and closed[0].worst == -10


def test_quiet_window_is_flushed_after_its_end_and_silence_is_reported_once(starter):
    gas = starter.metric("gas_lel")  # heartbeat timeout 300 s
    w, _ = feed(gas, [(40, T0 + timedelta(seconds=3))])
    assert not due(w, gas, T0 + timedelta(seconds=65), grace_s=10)
    assert due(w, gas, T0 + timedelta(seconds=71), grace_s=10)
    w, closed = flush(w, gas)
    assert closed is not None and closed.worst == 40 and w.readings == 0
    assert not silent(w, gas, T0 + timedelta(seconds=200))
    assert silent(w, gas, T0 + timedelta(seconds=400))
    reported = Window(**{**w.__dict__, "silent_since": T0 + timedelta(seconds=400)})
    assert not silent(reported, gas, T0 + timedelta(seconds=900))
    # a heartbeat ends the silence and counts no reading
    w, done = apply(reported, gas, value=0, at=T0 + timedelta(seconds=950), heartbeat=True, now=T0 + timedelta(days=1))
    assert w.silent_since is None and w.readings == 0 and done is None


def test_each_device_and_window_has_a_clue_reference_of_its_own_whatever_the_id_s_length():
    """A clue's reference holds 64 characters; cut there, devices with long ids sharing a prefix (or every window
    of one) shared a reference, and the clues service took each later clue for a resend of the first."""
    long_ids = ["gas-detector-zhengzhou-jinshui-district-building-0001-" + n for n in ("a", "b")]   # 55 characters
    starts = [datetime(2026, 3, 2, 10), datetime(2026, 3, 2, 10, 5), datetime(2027, 1, 1)]
    refs = {clue_ref(d, at) for d in ["gd-1", *long_ids] for at in starts}
    assert len(refs) == 9
    reference = TypeAdapter(Annotated[str, *ClueSubmitted.model_fields["channel_ref"].metadata])
    for ref in refs:   # each one a clue's reference as the contract has it
        assert reference.validate_python(ref) == ref and ref.endswith(("T100000", "T100500", "T000000"))
    assert clue_ref("gd-1", starts[0]) == "device:gd-1:20260302T100000"    # a short id is named as it is


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59Z"])
def test_a_reading_at_no_time_a_device_clock_shows_is_refused_by_the_contract(at):
    """The sentinels of no time overflowed the windows' arithmetic: the reading failed every retry."""
    reading = {"device_id": "gd-1", "uscc": "91410100MA9G5XKQ32", "metric": "gas_lel", "value": 1, "unit": "%LEL"}
    with pytest.raises(ValidationError, match="measured_at is outside the years 1970-2999"):
        DeviceReadingRecorded.model_validate({**reading, "measured_at": at})
    assert DeviceReadingRecorded.model_validate({**reading, "measured_at": "1970-01-01T00:00:05Z"})  # a reset clock


def test_windows_are_aligned_to_local_midnight_in_the_province(starter):
    """A daily window runs from midnight to midnight Beijing time, not 08:00 to 08:00 (UTC midnight); 3-hour windows
    start at 00:00, 03:00, ... local time."""
    from jsp_common import clock

    gas = starter.metric("gas_lel")
    local = lambda *a: datetime(*a, tzinfo=clock.TZ)  # noqa: E731
    daily, hours3 = gas.model_copy(update={"window_s": 86400}), gas.model_copy(update={"window_s": 3 * 3600})
    assert new_window("gd-1", local(2026, 3, 2, 7, 0), daily).start == local(2026, 3, 2, 0, 0)
    assert new_window("gd-1", local(2026, 3, 2, 23, 59), daily).start == local(2026, 3, 2, 0, 0)
    assert new_window("gd-1", local(2026, 3, 2, 4, 30), hours3).start == local(2026, 3, 2, 3, 0)
    assert new_window("gd-1", local(2026, 3, 2, 8, 0), hours3).start == local(2026, 3, 2, 6, 0)
    # readings of one local day are one window: the first of the next day closes it
    w, closed = feed(daily, [(30, local(2026, 3, 2, 7, 0)), (30, local(2026, 3, 2, 9, 0))])
    assert closed == [] and w.readings == 2 and w.breaches == 2
    w, closed = feed(daily, [(0, local(2026, 3, 3, 0, 30))], w)
    assert len(closed) == 1 and closed[0].breaches == 2 and closed[0].end == local(2026, 3, 3, 0, 0)
    assert w.start == local(2026, 3, 3, 0, 0)


def test_a_window_opened_aligned_to_utc_takes_the_readings_of_its_span(starter):
    """Open when windows came to be aligned to local midnight: its readings are not late, the first reading of the
    next local day closes it, and its devices' windows are aligned from then on."""
    from jsp_common import clock

    gas = starter.metric("gas_lel")
    daily = gas.model_copy(update={"window_s": 86400})
    local = lambda *a: datetime(*a, tzinfo=clock.TZ)  # noqa: E731
    w = Window("gd-1", start=local(2026, 3, 2, 8, 0))  # 2026-03-02T00:00Z
    w, closed = feed(daily, [(30, local(2026, 3, 2, 9, 0)), (30, local(2026, 3, 2, 23, 0))], w)
    assert closed == [] and w.late == 0 and w.breaches == 2
    w, closed = feed(daily, [(0, local(2026, 3, 3, 1, 0))], w)
    assert len(closed) == 1 and w.start == local(2026, 3, 3, 0, 0)
    quiet, _ = flush(Window("gd-2", start=local(2026, 3, 2, 8, 0), readings=1), daily)
    assert quiet.start == local(2026, 3, 3, 0, 0)
