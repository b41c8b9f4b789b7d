"""What the clues use cases need, built once in ``bootstrap.build`` (a typed container, no logic)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jsp_common.cached import Refreshing
from jsp_common.db import Database
from jsp_common.statistics import Growth
from jsp_common.workdays import WorkCalendar

from .adapters.crypto import PiCipher
from .settings import Settings
from .usecases.configuration import Configuration


@dataclass
class Deps:
    settings: Settings
    db: Database
    cipher: PiCipher            # callers' personal information, encrypted at rest
    calendar: WorkCalendar      # working days (official holidays and make-up days)
    config: Refreshing[Configuration]  # routing rules and deadline policies, re-read every few seconds
    name_gram_shares: Refreshing[dict[str, float]]  # the replica's commonest name pieces (name matching)
    source: str                 # the CloudEvents source of what this service publishes
    clue_rows: Growth = field(default_factory=Growth)  # when the clues table is analysed as it fills
