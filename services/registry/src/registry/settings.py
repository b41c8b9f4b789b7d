"""The registry's settings (environment variables ``JSP_REGISTRY_*``; shared ones ``JSP_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jsp_common.settings import ServiceSettings, service_default


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JSP_REGISTRY_")

    service_name: str = "registry"
    http_port: int = 8101

    # The intake consumer group (the catalogue's registry.intake; tests on shared brokers use their own).
    intake_group: str = "registry.intake"
    # The intake applies a whole poll set-wise (one statement per table): bigger polls, fewer round trips.
    consumer_max_records: int = service_default("JSP_REGISTRY_", "CONSUMER_MAX_RECORDS", 2000)

    # Dual notification: a department acknowledges (签收) within this many working days of issue.
    ack_workdays: int = 3
    # While a notification stays unacknowledged, remind again every this many working days.
    remind_every_workdays: int = 1
    overdue_scan_interval_s: float = 60.0
    overdue_scan_batch: int = 500

    # Rule set used when the database has none yet (seeded on first use); None: the shipped starter set.
    starter_rules_file: Path | None = None
    # How long a consumer keeps the rule set in force in memory before looking for a newer version.
    rules_cache_s: float = 5.0
    # Publishing a rule set needs the office's explicit confirmation (naming the consequence) when it keeps
    # fewer than this share of the enabled rules in force (an empty set always does) ...
    publish_confirm_keep_share: float = Field(0.5, ge=0, le=1)
    # ... or when it moves more than this share of the active, rule-assigned directory.
    publish_confirm_move_share: float = Field(0.1, ge=0, le=1)
    # Re-assessing entities after a rule change, and publishing imported records, run in batches.
    reassess_batch: int = 500
    reassess_interval_s: float = 5.0
    replicate_batch: int = 1000
    # Directory search counts its matches exactly up to this many; past it the page says "at least" this many
    # (total_capped), so a broad search of a 10-million directory answers at once: narrow it to count exactly.
    search_count_cap: int = Field(10_000, ge=1)
    # How often the name index's statistics (which bigrams most names hold) are read again for counting.
    search_statistics_cache_s: float = 600.0
    replicate_interval_s: float = 2.0
