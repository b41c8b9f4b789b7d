"""The risk service's settings (environment variables ``JSP_RISK_*``).

The model itself (indicators, weights, warning levels, response plans, device metrics, credit rules) is data
in the database, edited by the office through the API; these are the service's own timings and names.
"""

from __future__ import annotations

from datetime import time

from pydantic_settings import SettingsConfigDict

from jsp_common.settings import ServiceSettings, service_default


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JSP_RISK_")

    service_name: str = "risk"
    http_port: int = 8104

    # Consumer groups.
    replica_group: str = "risk.replica"          # registry.entities.v1 -> the directory replica
    indicators_group: str = "risk.indicators"    # clues.lifecycle.v1, inspection.results.v1 -> observations
    monitoring_group: str = "risk.monitoring"    # monitoring.device-readings.v1 -> device windows
    # Readings and indicator events are applied a poll at a time, set-wise: bigger polls, fewer transactions; and
    # a poll in one transaction, not a transaction per few partitions side by side: an entity's events come on
    # several partitions (a clue's are keyed by the clue), and those transactions waited on each other's lock of
    # the entity's standing row.
    consumer_max_records: int = service_default("JSP_RISK_", "CONSUMER_MAX_RECORDS", 5000)
    consumer_chunk_records: int = service_default("JSP_RISK_", "CONSUMER_CHUNK_RECORDS", 5000, ge=1)

    model_cache_s: float = 5.0           # the model in force is re-read this often (at once where it was saved)
    window_grace_s: float = 10.0         # a window closes this long after its end when no later reading came
    window_scan_interval_s: float = 15.0 # periodic job: close quiet windows, report silent devices
    window_scan_batch: int = 2000
    # periodic jobs: escalate unanswered alerts past their deadline; raise alerts held back once their cool-down ended
    escalation_scan_interval_s: float = 60.0
    rescore_page: int = 5000             # entities per transaction in a full re-scoring
    # periodic job: every entity with a standing re-scored once a day at this local time (Asia/Shanghai), as its
    # observations leave their windows; checked every rescore_check_interval_s (a missed day made up then)
    rescore_at: time = time(2, 0)
    rescore_check_interval_s: float = 300.0
