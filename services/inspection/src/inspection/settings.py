"""The inspection service's settings (environment variables ``JSP_INSPECTION_*``).

The credit bands (ratio per credit class) are data (``data/credit_bands.csv``); the numbers here are the
rules of the draws and of publication.
"""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from jsp_common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JSP_INSPECTION_")

    service_name: str = "inspection"
    http_port: int = 8103

    # Consumer groups.
    replica_group: str = "inspection.replica"    # the registry's directory (registry.entities.v1)
    credit_group: str = "inspection.credit"      # credit classes (risk.credit-classes.v1)
    requests_group: str = "inspection.requests"  # targeted inspections risk alerts ask for (risk.inspection-requests.v1)

    # Sampling.
    general_matter_max_ratio: float = 0.2        # a general matter's ratio is capped (key matters are not)
    proactive_class_a: bool = False              # class A (low risk) is not proactively checked unless set

    # Inspectors (双随机).
    min_inspectors_per_entity: int = 2
    inspectors_per_department: int = 1          # from every department whose items are inspected
    max_targets_per_inspector: int = 20         # per plan period
    max_inspections_per_entity_per_year: int = 2  # across all departments
    # PostgreSQL snapshots and ranks a draw's population; this much memory for its sorts (one transaction).
    draw_work_mem: str = "256MB"

    # Events: a draw lists its samples and targets in its event up to this many targets (the full record is
    # always served); a department's part of a task comes in messages of at most this many targets.
    max_targets_in_event: int = 2000
    max_targets_per_assignment: int = 500

    # Publication (一公开): within this many working days of the inspection.
    publish_within_workdays: int = 20
    public_feed_limit: int = 200
    # A draw's kept population is served in slices of this many bytes (the service holds one at a time).
    kept_population_slice_bytes: int = 1_048_576
    # A draw's public record, kept rendered, is served in slices of this many bytes (the service holds one at a time).
    draw_record_slice_bytes: int = 1_048_576

    def check(self) -> "Settings":
        return self
