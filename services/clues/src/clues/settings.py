"""The clues service's settings (environment variables ``JSP_CLUES_*``).

Handling deadlines per urgency, channel and category and the routing keyword rules are data in the database
(editable by the office through the API); the numbers here are the remaining time limits and thresholds.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jsp_common.settings import DEV_SECRET_MARKER, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JSP_CLUES_")

    service_name: str = "clues"
    http_port: int = 8102

    # Consumer groups (<service>.<purpose>): the clue intake, and the replica of the registry's directory.
    intake_group: str = "clues.intake"
    replica_group: str = "clues.replica"

    # Personal information (PIPL art. 51): callers' names and phones are encrypted at rest (AES-256-GCM;
    # values written earlier in Fernet still decrypt). The key is derived from this secret; put the new one
    # first to rotate, older ones still decrypt.
    pi_keys: list[str] = Field(default_factory=lambda: [f"{DEV_SECRET_MARKER}-clues-pi-key"])

    # Time limits (working days, Asia/Shanghai calendar with official holidays and make-up days).
    return_within_workdays: int = 2          # a misrouted clue may be returned (退回) within this
    # A chaser (催办) once this many working days have begun since the deadline's day (1: on the working day after
    # the deadline; 0: as soon as it has passed), then an escalation (督办) of a clue still open this many working
    # days after the day of its chaser (12345 hotline practice: the chaser the day after the deadline, the formal
    # reprimand 5 days later).
    chase_after_overdue_workdays: int = Field(1, ge=0)
    escalate_after_chase_workdays: int = Field(5, ge=0)
    max_extension_workdays: int = Field(10, ge=0)  # a clue's extensions add at most this many working days in all
    deadline_fallback_workdays: int = 5      # when no deadline policy row fits

    # Duplicates: an open clue about the same business and matter within the window is linked.
    duplicate_window_days: int = 30
    duplicate_min_similarity: float = 0.5            # same business: content similarity needed
    duplicate_min_similarity_no_business: float = 0.8  # same place but no business identified

    # Matching a business without USCC against the registry replica by name and place.
    match_min_confidence: float = 0.6
    match_candidates: int = 50
    # A name's pieces held by at least this share of the directory are left out of the first look for its
    # candidates (domain/name_lookup.py); the shares are the replica's statistics, re-read this often (a read
    # costs under a millisecond; a filling replica is analysed as it grows, jsp_common.statistics).
    match_common_share: float = 0.01
    match_statistics_cache_s: float = 10.0

    # Case transfer to public security (行刑衔接, State Council Decree 310): the case team and the statutory timers.
    # The days are working days, as above (the Administrative Penalty Law, art. 85, counts its limits of days so);
    # the hours are hours.
    transfer_min_team: int = Field(2, ge=1)  # at least two officials form the case team
    transfer_approval_days: int = 3          # the agency head approves or refuses within 3 working days
    transfer_handover_hours: int = 24        # an approved case goes to the police within 24 hours
    transfer_police_decision_days: int = 3   # the police decide whether to open a case within 3 working days

    deadline_scan_interval_s: float = 60.0   # periodic job: chasers, escalations, transfer timers
    schedule_recompute_batch: int = 500      # provisional deadlines recomputed per transaction
    rules_cache_s: float = 5.0               # routing rules and deadline policies are re-read this often

    def check(self) -> "Settings":
        self.refuse_placeholder_secrets(pi_key=self.pi_keys[0] if self.pi_keys else None)
        return self
