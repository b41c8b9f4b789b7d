"""Mutual recognition: only an inspection covers an item, and not for a targeted inspection asked for after it."""

from __future__ import annotations

from datetime import date

from jsp_common.events.inspection import ItemOutcome

from inspection.domain.recognition import INSPECTED, inspecting, recognised

SAMR, NHC = "samr-410100", "nhc-410100"
OWNER = {"S1": SAMR, "H1": NHC}


def test_a_visit_where_nothing_was_inspected_is_not_an_inspection():
    assert INSPECTED == {ItemOutcome.NO_PROBLEM, ItemOutcome.CORRECTION_ORDERED, ItemOutcome.REFERRED_FOR_CASE}
    assert ItemOutcome.NOT_COOPERATING not in INSPECTED and ItemOutcome.NOT_FOUND_AT_ADDRESS not in INSPECTED


def test_a_requested_department_s_items_are_recognised_only_by_a_result_after_the_request_s_day():
    results = [("U1", "S1", date(2026, 3, 2)), ("U1", "H1", date(2026, 3, 2)),
               ("U2", "S1", date(2026, 3, 5)), ("U3", "S1", date(2026, 3, 1))]
    asked = {"U1": {SAMR: date(2026, 3, 2)}, "U2": {SAMR: date(2026, 3, 4)}}
    # U1: samr was asked the day of its result (the result may be what the alert reacted to): S1 is inspected;
    # nhc was not asked, its item stays recognised. U2: inspected after the request. U3: no request.
    assert recognised(results, OWNER, asked) == {"U1": ["H1"], "U2": ["S1"], "U3": ["S1"]}
    assert recognised(results, OWNER) == {"U1": ["H1", "S1"], "U2": ["S1"], "U3": ["S1"]}


def test_the_departments_that_inspected_at_a_visit_are_those_with_an_inspection_outcome():
    results = [{"department": SAMR, "outcome": "not_cooperating", "inspected_on": date(2026, 3, 3)},
               {"department": NHC, "outcome": "no_problem", "inspected_on": date(2026, 3, 2)},
               {"department": NHC, "outcome": "no_problem", "inspected_on": date(2026, 3, 3)},
               {"department": "mem-410100", "outcome": "referred_for_case", "inspected_on": date(2026, 3, 2)}]
    assert inspecting(results) == {"mem-410100": date(2026, 3, 2), NHC: date(2026, 3, 3)}
