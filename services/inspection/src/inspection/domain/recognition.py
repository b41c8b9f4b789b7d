"""Mutual recognition (结果互认): which items a joint draw counts as already inspected at an entity in the
period, so the merge leaves them out (the draw's ``recognised`` input, on its record).

* Only an inspection is recognised: no problem found, ordered to correct, referred for a case. A visit where
  nothing was inspected (the entity refused the team, or could not be found at its registered address)
  covers nothing: the items are still to be inspected.
* A result counts once it is recorded (the service accepts results whole or not at all, and never changes
  one), published or not yet: publication follows within its deadline and does not change the result.
* A targeted inspection a risk alert asked for is not answered by a result from before the request: at an
  entity a draw takes a request in for, the items of the departments asked are recognised only by results
  inspected on a day after the request's (a result of the request's own day may be what the alert reacted
  to, and a request it does not answer would be left out of every draw).
"""

from __future__ import annotations

from datetime import date
from typing import Iterable, Mapping

from jsp_common.events.inspection import ItemOutcome

# The outcomes of an item that was inspected.
INSPECTED = frozenset({ItemOutcome.NO_PROBLEM, ItemOutcome.CORRECTION_ORDERED, ItemOutcome.REFERRED_FOR_CASE})


def recognised(results: Iterable[tuple[str, str, date]], owner: Mapping[str, str],
               requested_on: Mapping[str, Mapping[str, date]] | None = None) -> dict[str, list[str]]:
    """USCC -> the items recognised there (both sorted). ``results``: (USCC, item, the latest day it was
    inspected in the period) over results with an :data:`INSPECTED` outcome; ``owner``: item -> the department
    that inspects it; ``requested_on``: USCC -> department asked -> the day of the latest request the draw
    takes in for it."""
    asked = requested_on or {}
    out: dict[str, list[str]] = {}
    for uscc, item, day in results:
        request_day = asked.get(uscc, {}).get(owner.get(item, ""))
        if request_day is None or day > request_day:
            out.setdefault(uscc, []).append(item)
    return {u: sorted(items) for u, items in sorted(out.items())}


def inspecting(results: Iterable[Mapping]) -> dict[str, date]:
    """The departments that inspected at a visit, each with the last day it did: those with a result
    (``department``, ``outcome``, ``inspected_on``) of an :data:`INSPECTED` outcome (a department the entity
    refused, or that could not find it, did not)."""
    out: dict[str, date] = {}
    for r in results:
        if r["outcome"] in INSPECTED:
            out[r["department"]] = max(out.get(r["department"], r["inspected_on"]), r["inspected_on"])
    return dict(sorted(out.items()))
