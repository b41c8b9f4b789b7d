"""What the risk service's use cases need, built once in ``bootstrap.build``; no logic here."""

from __future__ import annotations

from dataclasses import dataclass, field

from jsp_common.cached import Refreshing
from jsp_common.db import Database
from jsp_common.statistics import Growth
from jsp_common.workdays import WorkCalendar

from .domain.model import RiskModel
from .settings import Settings


@dataclass
class Deps:
    settings: Settings
    db: Database
    source: str                                  # CloudEvents source of what this service emits
    calendar: WorkCalendar
    model: Refreshing[tuple[int, RiskModel]]     # the model version in force
    observation_rows: Growth = field(default_factory=Growth)  # when the observations table is analysed as it fills
