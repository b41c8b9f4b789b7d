"""Events owned by the inspection service.

* ``inspection.result.published.v1`` on ``inspection.results.v1`` (keyed by USCC): the published result
  (一公开) of one joint inspection of one entity, one outcome per inspected item. The risk service takes
  failed items as indicator inputs; the public feed shows the same record.
* ``inspection.task.assigned.v1``, ``inspection.result.recorded.v1`` and
  ``inspection.publication.due-changed.v1`` on each department's ``dept.<department>.inspections.v1`` (keyed
  by task id): its part of a joint task, results recorded at one of its entities with the date by which they
  are to be published, and a publication deadline recounted once the holiday schedule of a year it counted
  through was published; and ``inspection.draw.abandoned.v1`` when the performed draw its part came from is
  abandoned (the part is void).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .base import EventData, event
from .registry import USCC, DepartmentCode


class ItemOutcome(StrEnum):
    """What the team found for one inspection item (检查结果)."""

    NO_PROBLEM = "no_problem"                  # 未发现问题
    CORRECTION_ORDERED = "correction_ordered"  # 发现问题，责令改正
    REFERRED_FOR_CASE = "referred_for_case"    # 发现问题，移送立案
    NOT_COOPERATING = "not_cooperating"        # 不配合检查
    NOT_FOUND_AT_ADDRESS = "not_found_at_address"  # 通过登记的住所（经营场所）无法联系


class ItemResult(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    item_code: str = Field(min_length=1, max_length=64, description="the inspection item of the matter")
    department: DepartmentCode = Field(description="the department that owns the item")
    outcome: ItemOutcome
    note: str = Field("", max_length=2000)


@event("inspection.result.published.v1")
class InspectionResultPublished(EventData):
    """The result of one entity's joint inspection, published (双随机、一公开)."""

    uscc: USCC
    entity_name: str = Field(min_length=1, max_length=200)
    task_id: str = Field(min_length=1, max_length=64, description="the joint inspection task")
    matter_code: str = Field(min_length=1, max_length=64, description="the key supervision matter (重点事项)")
    lead_department: DepartmentCode
    departments: list[DepartmentCode] = Field(min_length=1, description="every department whose items were inspected")
    inspected_on: date
    items: list[ItemResult] = Field(min_length=1)
    problems_found: bool = Field(description="true when any item's outcome is other than no_problem")
    published_at: datetime


# ---------------------------------------------------------------------------- draws (on inspection.draws.v1)
class StratumRecord(BaseModel):
    """One credit class of one department's plan as drawn: the snapshot of its population and the sample."""

    model_config = ConfigDict(extra="forbid")

    plan_id: str
    department: DepartmentCode
    credit_class: str = Field(pattern=r"^[A-D]$")
    ratio: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$", description="decimal, e.g. 0.70")
    size: int = Field(ge=0, description="members of the population in this class")
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the members sorted, joined by a newline")
    sample: list[USCC] = Field(description="the drawn members, lowest rank SHA-256(seed || uscc) first")


class DrawnTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uscc: USCC
    departments: list[DepartmentCode] = Field(min_length=1, description="departments whose items are inspected")
    inspectors: list[str] = Field(min_length=2, description="inspector ids of the joint team")


@event("inspection.draw.announced.v1")
class DrawAnnounced(EventData):
    """A joint task's draw is committed to a seed, published before the draw: only its hash (SHA-256 of the
    seed's 64 hex characters). The seed is revealed with the result (or when the draw is abandoned)."""

    draw_id: str
    task_id: str
    matter_code: str
    lead_department: DepartmentCode
    departments: list[DepartmentCode]
    seed_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    announced_at: datetime


@event("inspection.draw.performed.v1")
class DrawPerformed(EventData):
    """The draw was made: the seed, every population's snapshot and the result. Replay it with
    ``python -m inspection verify`` on the record, served to anyone without a login at
    ``GET /inspection/public/draws/{draw_id}`` (the answer's ``record``, each population listed once, its members
    served apart; the command takes that address and fetches them)."""

    draw_id: str
    task_id: str
    seed_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    seed: str = Field(pattern=r"^[0-9a-f]{64}$")
    algorithm: str
    strata: list[StratumRecord]
    targets: list[DrawnTarget]
    listed_in_full: bool = Field(True, description="false when the draw is too large for one message: the samples "
                                 "and targets lists are then empty; the snapshots are here and the record "
                                 "is served at GET /inspection/public/draws/{draw_id}")
    performed_at: datetime


@event("inspection.draw.abandoned.v1")
class DrawAbandoned(EventData):
    """A draw that produced no kept result: refused (the pool cannot satisfy the rules) or abandoned by the
    office or the lead department with a reason. It stays on the record; its seed is revealed. On
    ``inspection.draws.v1`` always; a performed draw abandoned is also told on the topic of every department of
    the task (``dept.<department>.inspections.v1``), whose part of it (``inspection.task.assigned.v1`` with this
    ``draw_id``) is void: its entities are not visited under this draw."""

    draw_id: str
    task_id: str
    seed_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    seed: str = Field(pattern=r"^[0-9a-f]{64}$")
    status: str = Field(pattern=r"^(refused|abandoned)$")
    reason: str = Field(min_length=1, max_length=2000)
    at: datetime


# ---------------------------------------------------------------------------- a department's part of a joint task
class AssignedTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uscc: USCC
    entity_name: str
    address: str | None = None
    items: list[str] = Field(min_length=1, description="this department's inspection items at this entity")
    joint_departments: list[DepartmentCode] = Field(description="every department of the one joint visit")
    inspectors: list[str] = Field(description="this department's inspectors in the joint team")
    team: list[str] = Field(min_length=2, description="the whole joint team")


@event("inspection.task.assigned.v1")
class TaskAssigned(EventData):
    """This department's part of a joint inspection task (联合抽查), on its own topic
    ``dept.<department>.inspections.v1``: the entities it inspects with the others in one visit."""

    task_id: str
    draw_id: str
    matter_code: str
    matter_version: int = Field(ge=1)
    lead_department: DepartmentCode
    department: DepartmentCode
    period_start: date
    period_end: date
    targets: list[AssignedTarget]
    part: int = Field(1, ge=1, description="a large task comes in several messages: this is part `part` of `parts`")
    parts: int = Field(1, ge=1)
    assigned_at: datetime


@event("inspection.result.recorded.v1")
class ResultRecorded(EventData):
    """The joint team recorded results at one entity (not yet public): told to every department of the visit,
    and to the lead, which may not inspect that entity, with the date by which it is to publish them (一公开,
    working days after the inspection, fixed by the first results recorded there). The office's figure of results awaiting
    publication past their deadline counts these against ``inspection.result.published.v1``."""

    task_id: str
    uscc: USCC
    entity_name: str
    matter_code: str
    lead_department: DepartmentCode
    department: DepartmentCode = Field(description="the department whose topic this is")
    departments: list[DepartmentCode] = Field(min_length=1, description="every department of the joint visit")
    inspected_on: date
    items: list[ItemResult] = Field(min_length=1, description="the results recorded this time")
    complete: bool = Field(description="every item inspected there has a result now: ready to publish")
    due_on: date = Field(description="publish by the end of this day (Asia/Shanghai)")
    due_provisional: bool = Field(description="counted through a year whose holiday schedule is not published: "
                                              "inspection.publication.due-changed.v1 follows once it is")
    recorded_at: datetime


@event("inspection.publication.due-changed.v1")
class PublicationDueChanged(EventData):
    """An entity's publication deadline (一公开, working days after the inspection) was recomputed after a year's
    holiday schedule was published (or corrected); told to every department of the joint visit and the lead. Both dates are
    given; ``previous_passed`` says the earlier one had already passed."""

    task_id: str
    uscc: USCC
    department: DepartmentCode
    inspected_on: date
    previous_due_on: date
    due_on: date
    due_provisional: bool = Field(description="still counted through a year whose schedule is not published")
    previous_passed: bool = Field(description="the previous deadline had already passed when it was recomputed")
    reason: str = Field(max_length=500)
    changed_at: datetime
