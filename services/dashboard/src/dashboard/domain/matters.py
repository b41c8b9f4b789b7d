"""The key matters' names, shown beside the codes inspection results carry (the results name a matter and its
items by code; the inspection service's public list of the matters in effect names them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping


@dataclass(frozen=True)
class MatterNames:
    matters: dict[str, str] = field(default_factory=dict)   # matter code -> name
    items: dict[str, str] = field(default_factory=dict)     # inspection item code -> title


def names_of(matters: Iterable[Mapping]) -> MatterNames:
    """From the public list's entries (``code``, ``name``, ``items`` with ``code`` and ``title``)."""
    listed = list(matters)
    return MatterNames({m["code"]: m["name"] for m in listed},
                       {i["code"]: i["title"] for m in listed for i in m.get("items") or ()})
