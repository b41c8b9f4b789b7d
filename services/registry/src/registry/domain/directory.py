"""The directory's state changes: applying a bureau event to an entity's current record. Pure; no I/O.

Changes of one entity are applied in the order they happened at the bureau (``occurred_at``), not
the order they arrive, for its particulars and for its status apart: a registration or change older than the
particulars the record states does not restate them, and a registration, deregistration or revocation older than
the record's status does not change it. An event that changes neither is *superseded* (kept in the history, not
applied). So a revocation at 09:00 arriving after a change at 10:00 still closes the entity, and a change at
09:00 arriving after a revocation at 10:00 still restates its particulars. A deregistration or revocation of an
entity the directory does not know is refused.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any

from jsp_common import divisions
from jsp_common.events.registry import (EntityStatus, MarketEntityChanged, MarketEntityDeregistered,
                                        MarketEntityRegistered, MarketEntityRevoked)

from .rules import Assignment, Facts, compare

CLOSED = (EntityStatus.DEREGISTERED.value, EntityStatus.REVOKED.value)


class UnknownEntity(Exception):
    """The event needs an existing record and there is none."""


class InconsistentDates(Exception):
    """The event's dates contradict the record (e.g. closed before it was established)."""


@dataclass(frozen=True)
class Record:
    """The current record of one entity (the columns of ``entities`` the domain cares about)."""

    uscc: str
    name: str
    entity_type: str
    legal_representative: str | None
    address: str
    division_code: str
    industry_code: str
    business_scope: str
    licences: list[dict[str, Any]]
    status: str
    established_on: date
    approved_on: date | None
    closed_on: date | None
    registration_authority: str | None
    departments: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    matched_rules: tuple[str, ...] = ()
    assignment_state: str = "assigned"
    assignment_source: str = "rules"
    rule_version: int | None = None
    version: int = 0
    last_changed_at: datetime | None = None    # the latest of the two below
    stated_at: datetime | None = None          # the event its particulars come from (None: last_changed_at)
    status_changed_at: datetime | None = None  # the event its status comes from (None: last_changed_at)

    @property
    def city_code(self) -> str | None:
        return divisions.city_code(self.division_code)

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    def facts(self) -> Facts:
        return facts_of(self.division_code, self.industry_code, self.business_scope, self.licences)


def facts_of(division_code: str, industry_code: str, business_scope: str, licences: list[dict[str, Any]]) -> Facts:
    """What the rules look at, from a record's columns."""
    return Facts(division_code, industry_code, business_scope, tuple(str(lic.get("type", "")) for lic in licences))


# The fields of a record, and those registration decides (the ones without a default: the rest is the
# directory's own, who supervises the entity and the record's version).
RECORD_FIELDS = tuple(f.name for f in fields(Record))
REGISTRATION_FIELDS = tuple(f.name for f in fields(Record)
                            if f.default is MISSING and f.default_factory is MISSING)
# Who supervises the entity: kept as they are when the office decided it (an import does not change them).
ASSIGNMENT_FIELDS = ("departments", "domains", "matched_rules", "assignment_state")
# What a registration or change event states (the status and closing date come from the event's type).
_STATED = tuple(f for f in REGISTRATION_FIELDS if f not in ("status", "closed_on"))


@dataclass(frozen=True)
class Applied:
    """The outcome of applying one event."""

    outcome: str                      # applied | superseded
    record: Record | None             # the record after the event (None when superseded)
    cause: str = ""                   # registered | changed | deregistered | revoked


_CAUSE = {MarketEntityRegistered: "registered", MarketEntityChanged: "changed",
          MarketEntityDeregistered: "deregistered", MarketEntityRevoked: "revoked"}


def _not_before(at: datetime, since: datetime | None) -> bool:
    return since is None or at >= since


def apply_event(current: Record | None, data) -> Applied:
    """The record after ``data`` (a market.entity.* contract), or *superseded* if it changes neither the
    particulars nor the status (each older than the record's)."""
    cause, at = _CAUSE[type(data)], data.occurred_at
    states = isinstance(data, (MarketEntityRegistered, MarketEntityChanged))
    if current is None:
        if not states:
            raise UnknownEntity(f"entity {data.uscc} is not in the directory")
        return Applied("applied", Record(**_stated(data), status=EntityStatus.ACTIVE.value, closed_on=None, version=1,
                                         last_changed_at=at, stated_at=at, status_changed_at=at), cause)
    stated_at = current.stated_at or current.last_changed_at
    status_changed_at = current.status_changed_at or current.last_changed_at
    restate = states and _not_before(at, stated_at)
    sets_status = not isinstance(data, MarketEntityChanged) and _not_before(at, status_changed_at)
    if not restate and not sets_status:
        return Applied("superseded", None, cause)
    # Both times written out: the side that stays keeps its time when last_changed_at moves past it.
    record = replace(current, stated_at=stated_at, status_changed_at=status_changed_at)
    if restate:
        record = replace(record, **_stated(data), stated_at=at)
    if sets_status:
        record = replace(record, **_status(data, record), status_changed_at=at)
    latest = max(at, current.last_changed_at) if current.last_changed_at else at
    return Applied("applied", replace(record, version=current.version + 1, last_changed_at=latest), cause)


def _stated(data: MarketEntityRegistered | MarketEntityChanged) -> dict[str, Any]:
    stated = {f: getattr(data, f) for f in _STATED}
    stated["licences"] = [lic.model_dump(mode="json") for lic in data.licences]
    return stated


def _status(data: MarketEntityRegistered | MarketEntityDeregistered | MarketEntityRevoked,
            record: Record) -> dict[str, Any]:
    """The status (and closing date) ``data`` gives ``record``: a registration makes it active (again)."""
    if isinstance(data, MarketEntityRegistered):
        return {"status": EntityStatus.ACTIVE.value, "closed_on": None}
    closed_on = data.deregistered_on if isinstance(data, MarketEntityDeregistered) else data.revoked_on
    if closed_on < record.established_on:
        raise InconsistentDates(f"closing date {closed_on.isoformat()} is before the establishment date "
                                f"{record.established_on.isoformat()}")
    status = EntityStatus.DEREGISTERED if isinstance(data, MarketEntityDeregistered) else EntityStatus.REVOKED
    return {"status": status.value, "closed_on": closed_on}


@dataclass(frozen=True)
class Responsibility:
    """What changes in who is responsible after an applied event."""

    record: Record
    notify_new: list[str] = field(default_factory=list)     # departments that must now supervise
    notify_closed: list[str] = field(default_factory=list)  # departments told the entity closed
    open_adjudication: bool = False                          # no rule matched: to the office
    close_adjudication: bool = False                         # an open case is no longer needed


def ended(before: Record | None, after: Record) -> list[str]:
    """The departments that supervised ``before`` and do not supervise ``after`` (a closed entity keeps its
    departments: they are told it closed instead)."""
    if before is None or after.closed:
        return []
    return sorted(set(before.departments) - set(after.departments))


def office_decision_stands(before: Record | None, after: Record) -> bool:
    """Whether the office's assignment of ``after`` still holds. An office decision stands only where it was made:
    the departments it named are those of the entity's city, so once the entity moves to another city the rules
    decide again, as for a new registration (and, if none matches, the office is asked again)."""
    return after.assignment_source == "office" and before is not None and before.city_code == after.city_code


def assign(before: Record | None, after: Record, assignment: Assignment | None, rule_version: int | None) -> Responsibility:
    """Decide responsibility for ``after``. ``assignment`` is the rules' answer (None: keep as is).

    Closed entities keep their departments, which are told of the closure. Assignments made by the
    office stand until the office changes them or the entity moves to another city
    (``office_decision_stands``). Otherwise the rules decide: departments newly responsible are
    notified (those no longer responsible are told it ended, ``ended``); no department at all sends
    the entity to adjudication.
    """
    stands = office_decision_stands(before, after)
    back = before is not None and before.closed and not after.closed
    if back:
        before = None  # registered again: assessed as a new entity (its departments were told it closed)
    prior = before.departments if before else ()
    waiting = before is not None and before.assignment_state == "adjudication"
    if after.closed:
        told = list(prior) if (before is None or not before.closed) else []
        rec = replace(after, assignment_state="assigned") if waiting else after  # its case withdrawn: none waits
        return Responsibility(rec, notify_closed=told, close_adjudication=waiting)
    if stands or assignment is None:
        # The office's departments stand; registered again, they are told it is back as they were told it closed.
        return Responsibility(after, notify_new=list(after.departments) if back else [])
    if waiting and prior:
        return Responsibility(after)  # disputed by a department: waits for the office
    if assignment.empty:
        rec = replace(after, departments=(), domains=(), matched_rules=(), assignment_state="adjudication",
                      assignment_source="rules", rule_version=rule_version)
        already = before is not None and before.assignment_state == "adjudication"
        return Responsibility(rec, open_adjudication=not already)
    added, _removed = compare(prior, assignment.departments)
    rec = replace(after, departments=assignment.departments, domains=assignment.domains,
                  matched_rules=assignment.matched_rules, assignment_state="assigned", assignment_source="rules",
                  rule_version=rule_version)
    return Responsibility(rec, notify_new=added, close_adjudication=waiting)
