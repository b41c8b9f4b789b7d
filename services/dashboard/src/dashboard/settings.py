"""The dashboard's settings (environment variables ``JSP_DASHBOARD_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jsp_common.settings import ServiceSettings, service_default


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JSP_DASHBOARD_")

    service_name: str = "dashboard"
    http_port: int = 8105

    # The consumer group that builds the read model from the platform's topics (its inbox and dead-letter topics;
    # the Kafka group of the shared topics).
    read_model_group: str = "dashboard.read-model"
    # It reads every department's own topics, some 800 partitions with little traffic, with a Kafka group of its
    # own (`<read_model_group>.departments`): each fetch lists every partition its consumer reads (the Kafka client
    # encodes and decodes every one), so those fetches wait for this much data, or at most this long (a department's
    # notification, chaser or inspection task reaches the figures at most this much later).
    departments_fetch_min_bytes: int = Field(256 * 1024, ge=1)
    departments_fetch_max_wait_ms: int = Field(1000, ge=0)
    # The read model applies a poll at a time, set-wise, in one transaction: a clue's lifecycle events become one
    # upsert of its row per poll, and the statements' fixed costs (the tallies' triggers, the inbox) are paid per
    # poll rather than per hundred events.
    consumer_max_records: int = service_default("JSP_DASHBOARD_", "CONSUMER_MAX_RECORDS", 5000)
    consumer_chunk_records: int = service_default("JSP_DASHBOARD_", "CONSUMER_CHUNK_RECORDS", 5000, ge=1)

    # A rebuild (python -m dashboard rebuild) replays the topics into a copy of the read model in passes, each up
    # to the topics' ends when it starts; once a pass finds fewer messages than this (or after the last pass
    # allowed; 0: none), the group's writers wait while the rebuild reads the rest and puts the copy in place.
    rebuild_final_pass_records: int = Field(2000, ge=0)
    rebuild_max_passes: int = Field(10, ge=0)
    # The longest the group's writers are held (the final pass, the copy put in place): a rebuild that takes longer
    # gives up (the live tables as they were, the writers go on) and is refused, to be run again.
    rebuild_hold_max_s: float = Field(300.0, gt=0)

    # The gateway, for the entity 360 view (called with the signed-in person's own token, so the gateway's
    # own scoping applies) and the inspection service's public routes (key matters, service manuals).
    gateway_url: str = "http://127.0.0.1:8000"
    upstream_timeout_s: float = 5.0
    # The key matters in effect (the public matters page, and their names beside the codes of inspection results),
    # fetched again at most this often (while the inspection service cannot be reached the results show their
    # codes alone, for this long at most, and the matters page says so until it can be reached again).
    matter_names_cache_s: float = Field(60.0, ge=0)

    # Figures: a clue is "due soon" when its deadline is within this many hours; trends cover these weeks.
    due_soon_hours: int = 48
    trend_weeks: int = 8
    page_size: int = 20

    # Live updates: the read model announces changes (PostgreSQL NOTIFY on commit); pages refresh at most
    # this often, and the stream sends a keep-alive comment this often.
    live_min_interval_s: float = 1.0
    # Under a stream of changes the command page's figures are refreshed in the background at most this share of
    # the time (each refresh reads the whole read model): after one that took 1 s, the next waits 4 s.
    live_refresh_share: float = Field(0.2, gt=0, le=1)
    # ... while someone watches: a page asked for within this long (an open live page asks after every change).
    live_watch_s: float = Field(60.0, gt=0)
    live_keepalive_s: float = 15.0
    # The command page's figures are kept in memory per scope until the read model changes (then refreshed
    # in the background), and at most this long (overdue and due-soon counts move with time).
    figures_max_age_s: float = 30.0
