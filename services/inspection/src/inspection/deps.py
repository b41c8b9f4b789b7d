"""What the inspection use cases need, built once in bootstrap; no logic."""

from __future__ import annotations

from dataclasses import dataclass

from jsp_common.db import Database
from jsp_common.workdays import WorkCalendar

from .settings import Settings


@dataclass
class Deps:
    settings: Settings
    db: Database
    calendar: WorkCalendar
    source: str
