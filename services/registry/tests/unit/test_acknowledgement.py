"""Acknowledgement (签收) judged late or not against a notification's acknowledge-by time."""

from datetime import datetime, timedelta

from jsp_common.clock import TZ

from registry.domain.acknowledgement import acknowledged_late, is_overdue

PROVISIONAL = datetime(2027, 1, 4, 23, 59, 59, tzinfo=TZ)  # Monday to Friday, New Year's Day counted as working
FINAL = datetime(2027, 1, 5, 23, 59, 59, tzinfo=TZ)        # once 2027's schedule is published
NEXT_MORNING = PROVISIONAL + timedelta(hours=10)


def test_an_acknowledgement_late_against_a_provisional_time_is_in_time_against_the_final_one():
    # acknowledged after having been reminded as overdue against the provisional time: late then
    assert is_overdue(acknowledged_at=None, overdue_since=PROVISIONAL + timedelta(seconds=1),
                      acknowledge_by=PROVISIONAL, now=NEXT_MORNING)
    assert acknowledged_late(acknowledged_at=NEXT_MORNING, acknowledge_by=FINAL) is False


def test_an_acknowledgement_after_the_final_time_is_late_unless_the_notice_was_moot():
    after = FINAL + timedelta(seconds=1)
    assert acknowledged_late(acknowledged_at=after, acknowledge_by=FINAL) is True
    assert acknowledged_late(acknowledged_at=FINAL, acknowledge_by=FINAL) is False  # the last second is in time
    assert acknowledged_late(acknowledged_at=after, acknowledge_by=FINAL, superseded=True) is False
