"""Loading the inspector directory (执法检查人员名录) by certificate: what a load's row makes of an inspector.

A roster file names what it knows about each inspector; what it leaves out keeps its stored value. A
department's file lists name, certificate and validity, and a spreadsheet of that kind must not clear the
conflicts (回避) an inspector declared, nor bring back one the department deactivated: a conflicted inspector
drawn for the entity is exactly what the draw promises never to do. A new inspector takes the defaults.
"""

from __future__ import annotations

from typing import Any, Mapping

# Fields a load may leave out, and what a new inspector gets for them.
NEW_INSPECTOR: Mapping[str, Any] = {"fields": (), "division_code": None, "active": True, "conflicts": ()}


def as_loaded(given: Mapping[str, Any], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The inspector's fields after a load's row ``given`` (only the fields it names): those it leaves out are
    the ``stored`` inspector's, or a new one's defaults."""
    kept = NEW_INSPECTOR if stored is None else {k: stored[k] for k in NEW_INSPECTOR}
    return {**kept, **given}
