"""Joint inspection: merged by USCC, one visit covering every department's items; mutual recognition."""

from __future__ import annotations

from inspection.domain.merge import DepartmentSample, merge, overlap


def test_overlapping_samples_become_one_target_per_entity_covering_both_departments():
    a = DepartmentSample("samr-410100", "P1", ("S1", "S2"), ("U1", "U2", "U3"))
    b = DepartmentSample("nhc-410100", "P2", ("H1",), ("U2", "U3", "U4"))
    got = {t.uscc: t for t in merge([a, b])}
    assert sorted(got) == ["U1", "U2", "U3", "U4"]
    assert got["U2"].parts == (("nhc-410100", ("H1",)), ("samr-410100", ("S1", "S2")))
    assert got["U1"].departments == ("samr-410100",)
    assert overlap([a, b]) == 2


def test_items_an_accepted_result_covers_are_not_inspected_again():
    a = DepartmentSample("samr-410100", "P1", ("S1", "S2"), ("U1", "U2"))
    b = DepartmentSample("nhc-410100", "P2", ("H1",), ("U2",))
    got = {t.uscc: t for t in merge([a, b], {"U1": {"S1", "S2"}, "U2": {"S1"}})}
    assert "U1" not in got                                  # nothing left to check there: no visit
    assert got["U2"].parts == (("nhc-410100", ("H1",)), ("samr-410100", ("S2",)))
    assert got["U2"].recognised == ("S1",)
