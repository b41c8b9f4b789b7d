"""Entity 360: one answer for one USCC composed from the services' parts; a part that cannot be had is
named in ``missing`` instead of failing the whole answer."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class PartSpec:
    """A part besides the registry record: where it is asked (``{uscc}`` in the path and the parameters is the
    entity's) and, if any, its answer when the service knows nothing of the entity (404)."""

    name: str
    service: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    when_absent: dict[str, Any] | None = None

    def about(self, uscc: str) -> PartSpec:
        return PartSpec(self.name, self.service, self.path.format(uscc=uscc),
                        {k: v.format(uscc=uscc) for k, v in self.params.items()},
                        None if self.when_absent is None else {"uscc": uscc, **self.when_absent})


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


def absent_as(part: Part, value: Any) -> Part:
    """A part whose service says it holds nothing about the entity (404; the registry has already said the
    entity exists for this caller) answered with ``value``: what the platform takes when nothing is known."""
    return Part(part.name, 200, value) if part.status == 404 else part
