"""Entity 360: one answer for one USCC composed from the services' parts; a part that cannot be had is
named in ``missing`` instead of failing the whole answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Part:
    name: str
    status: int            # the service's HTTP status; 0 when it could not be reached
    body: Any = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class EntityNotFound(Exception):
    pass


def compose(uscc: str, record: Part, others: list[Part]) -> dict[str, Any]:
    """The registry ``record`` decides whether the entity exists for this caller (404 when the registry says
    so); every other part is added when it answered, or listed as missing with the reason."""
    if record.status == 404:
        raise EntityNotFound(uscc)
    answer: dict[str, Any] = {"uscc": uscc, "missing": []}
    for part in (record, *others):
        if part.ok:
            answer[part.name] = part.body
        else:
            answer[part.name] = None
            answer["missing"].append({"part": part.name,
                                      "reason": part.reason or f"the service answered {part.status}"})
    answer["complete"] = not answer["missing"]
    return answer


def only_about(uscc: str, part: Part) -> Part:
    """Keep the items of a list answer that concern ``uscc`` (a service may not filter by it itself)."""
    if not part.ok or not isinstance(part.body, list):
        return part
    return Part(part.name, part.status, [item for item in part.body if isinstance(item, dict)
                                         and item.get("uscc") == uscc], part.reason)
