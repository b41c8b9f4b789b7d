"""What the dashboard's use cases and pages need, built once in bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from jsp_common.cached import Refreshing
from jsp_common.db import Database

from .adapters.live import ChangeFeed
from .domain.matters import MatterNames
from .settings import Settings
from .usecases.snapshots import FigureSnapshots


@dataclass
class Deps:
    settings: Settings
    db: Database
    gateway: httpx.AsyncClient   # the entity 360 view and the inspection service's public routes
    changes: ChangeFeed          # read-model changes, for the live pages
    snapshots: FigureSnapshots   # the command page's figures per scope, kept until the read model changes
    matters: Refreshing[list[dict] | None]  # the key matters in effect (the inspection service's public list)
    matter_names: Refreshing[MatterNames]  # their names
