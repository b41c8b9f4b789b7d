"""What the registry's use cases need, built once by ``bootstrap.build``: a typed container, no logic."""

from __future__ import annotations

from dataclasses import dataclass, field

from jsp_common.cached import Refreshing
from jsp_common.db import Database
from jsp_common.workdays import WorkCalendar

from .domain.rules import CompiledRules
from .settings import Settings


@dataclass
class ReassessPass:
    """Where the re-assessment pass in progress has got to (USCC order; "" at the start of a pass)."""

    after: str = ""


@dataclass
class Deps:
    settings: Settings
    db: Database
    source: str                          # the events' source (``/jsp/registry``)
    calendar: WorkCalendar               # working days, for acknowledgement deadlines and reminders
    rules: Refreshing[CompiledRules]     # the rule set in force, compiled, re-read every ``rules_cache_s``
    bigram_shares: Refreshing[dict[str, float]]  # the name index's commonest bigrams (name search counts by them)
    reassess: ReassessPass = field(default_factory=ReassessPass)
