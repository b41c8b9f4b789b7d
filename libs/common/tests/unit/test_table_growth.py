"""When a table being written is analysed: as it fills, a few times per doubling, so the planner never takes a
large table for empty; once full, only when a large share of it has changed (autovacuum's work)."""

from jsp_common.statistics import Growth


def fill(growth: Growth, rows: int, per_poll: int) -> list[int]:
    """Write ``rows`` in polls of ``per_poll``, analysing when due; the replica's size at each analysis."""
    analysed, total = [], 0
    while total < rows:
        total += per_poll
        if growth.wrote(per_poll):
            growth.known(total)
            analysed.append(total)
    return analysed


def test_a_filling_replica_is_analysed_a_few_times_per_doubling():
    growth = Growth()
    growth.known(-1)  # never analysed, as PostgreSQL says of a new table
    analysed = fill(growth, 10_000_000, 2_000)
    assert analysed[0] == 2_000  # the first poll of a new replica
    assert all(b / a <= 1.5 + 2_000 / a for a, b in zip(analysed, analysed[1:]))  # its estimate never < 2/3
    assert len(analysed) <= 25


def test_a_full_replica_is_analysed_only_when_half_of_it_has_been_written_again():
    growth = Growth()
    growth.known(1_000_000)
    assert not any(growth.wrote(10_000) for _ in range(49))
    assert growth.wrote(10_000)


def test_nothing_is_due_before_the_size_is_known_and_small_writes_wait_for_the_least():
    growth = Growth(least=100)
    assert not growth.wrote(10_000)
    growth.known(0)
    assert not growth.wrote(99) and growth.wrote(1)
