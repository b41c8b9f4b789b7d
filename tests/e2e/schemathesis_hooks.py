"""Schemathesis hooks for the platform's published OpenAPI: strategies for the string formats it declares
beyond JSON Schema's own (loaded through SCHEMATHESIS_HOOKS by tests/e2e/test_schemathesis.py)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import schemathesis
from hypothesis import strategies as st

from jsp_common import divisions, uscc

# Unified Social Credit Code (GB 32100-2015): registration authority, entity type, division, organisation
# code and the check character computed from the other seventeen.
_first17 = st.builds(lambda head, division, body: head + division + body,
                     st.sampled_from(["91", "92", "93", "11", "12", "52"]),
                     st.sampled_from([d.code for d in divisions.all_divisions()]),
                     st.text(alphabet=uscc.ALPHABET, min_size=9, max_size=9))
schemathesis.openapi.format("uscc", _first17.map(uscc.with_check_char))


# Dates and moments of events lie between the contract's earliest date and now (described in the schema, not
# expressible in it): the generated bodies that put one outside are not sent.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # the latest of the contracts' earliest dates (received_at)
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ][0-9:.]+([Zz]|[+-]\d{2}:\d{2})?)?$")


def _outside(node: Any, now: datetime) -> bool:
    if isinstance(node, dict):
        return any(_outside(v, now) for v in node.values())
    if isinstance(node, list):
        return any(_outside(v, now) for v in node)
    if isinstance(node, str) and _MOMENT.match(node):
        try:
            moment = datetime.fromisoformat(node.replace("z", "Z").replace("t", "T"))
        except ValueError:
            return False
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return not EARLIEST <= moment <= now
    return False


# ... and come in their order (a licence is valid until after it was issued; a change is approved after the
# establishment).
ORDERED = (("issued_on", "valid_until"), ("established_on", "approved_on"))


def _out_of_order(node: Any) -> bool:
    if isinstance(node, list):
        return any(_out_of_order(v) for v in node)
    if not isinstance(node, dict):
        return False
    for first, then in ORDERED:
        a, b = node.get(first), node.get(then)
        if isinstance(a, str) and isinstance(b, str) and b < a:
            return True
    return any(_out_of_order(v) for v in node.values())


@schemathesis.hook
def filter_body(ctx, body):
    return not _outside(body, datetime.now(timezone.utc)) and not _out_of_order(body)
