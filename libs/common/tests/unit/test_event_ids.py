"""Event and record ids derived from what caused them: a periodic job's row in its state, a batch's inputs."""

from __future__ import annotations

from jsp_common.consumer import in_rounds
from jsp_common.outbox import SessionTx

TOPIC, TYPE = "dept.samr-410100.notifications.v1", "registry.notification.reminded.v1"


def reminder_ids(tx: SessionTx, notification: str, number: int) -> tuple[str, str]:
    issued = tx.caused_by("registry.reminder", notification, number)
    return issued.ids.event_id(TOPIC, TYPE, "key"), issued.new_id("record")


def test_a_job_run_again_on_the_same_state_issues_the_same_ids():
    first = reminder_ids(SessionTx(None, "/jsp/registry"), "n-1", 1)  # type: ignore[arg-type]
    again = reminder_ids(SessionTx(None, "/jsp/registry"), "n-1", 1)  # type: ignore[arg-type]
    assert again == first
    assert reminder_ids(SessionTx(None, "/jsp/registry"), "n-1", 2)[0] != first[0]  # the next reminder
    assert reminder_ids(SessionTx(None, "/jsp/registry"), "n-2", 1)[0] != first[0]  # another notification


def test_each_row_of_a_job_counts_its_own_events():
    """Two rows' events in one transaction do not shift each other's ids (the n-th event is per cause)."""
    scan = SessionTx(None, "/jsp/registry")  # type: ignore[arg-type]
    alone = scan.caused_by("registry.reminder", "n-2", 1).ids.event_id(TOPIC, TYPE, "key")
    scan = SessionTx(None, "/jsp/registry")  # type: ignore[arg-type]
    scan.caused_by("registry.reminder", "n-1", 1).ids.event_id(TOPIC, TYPE, "key")
    assert scan.caused_by("registry.reminder", "n-2", 1).ids.event_id(TOPIC, TYPE, "key") == alone


def test_without_a_cause_ids_are_random():
    """As for a request without Idempotency-Key."""
    tx, other = SessionTx(None, "/jsp/registry"), SessionTx(None, "/jsp/registry")  # type: ignore[arg-type]
    assert tx.ids.event_id(TOPIC, TYPE, "k") != other.ids.event_id(TOPIC, TYPE, "k")
    assert tx.new_id("record") != tx.new_id("record")


def test_a_batch_applies_an_entitys_inputs_one_round_each_in_order():
    inputs = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3), ("b", 2)]
    assert in_rounds(inputs, key=lambda i: i[0]) == [[("a", 1), ("b", 1), ("c", 1)], [("a", 2), ("b", 2)],
                                                     [("a", 3)]]
    assert in_rounds([], key=lambda i: i) == []


def test_derived_ids_are_the_uuid5_of_their_cause_and_parts():
    """Ids already issued (on the topics, in inboxes, in restored databases) must come out the same after any
    release: a derived id is the RFC 4122 name-based UUID (version 5) of the cause and parts, as published."""
    import uuid

    from jsp_common.envelope import DERIVED_ID_NAMESPACE, derived_id

    assert derived_id("registry.intake\n0b6c1e2a", "event", "registry.entities.v1", "x", "914101", "1") == \
        "6dbae870-2968-5f47-a4d5-5e9c78088e2d"
    for cause, parts in (("", ()), ("clues.intake\nid-1", ("record", "中文")), ("job\nreminder\nn-1\n2", ("a", "b", "c"))):
        assert derived_id(cause, *parts) == str(uuid.uuid5(DERIVED_ID_NAMESPACE, "\n".join((cause, *parts))))
