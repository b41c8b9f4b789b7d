"""Prometheus metrics of the messaging core: events in, out and failed, handler latency, outbox backlog, and
whether the servers a service needs answer."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_IN = Counter("jsp_events_consumed_total", "Events consumed, by outcome",
                    ["group", "type", "outcome"])  # outcome: handled|duplicate|ignored|dead_lettered
EVENTS_OUT = Counter("jsp_events_published_total", "Events published to Kafka", ["topic"])
EVENTS_FAILED = Counter("jsp_events_failed_total", "Handler attempts that failed", ["group", "kind"])
HANDLER_SECONDS = Histogram("jsp_handler_seconds", "Time to handle one batch of events", ["group"],
                            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
CONNECTION_UP = Gauge("jsp_connection_up", "1 while the server answered its last check, 0 while it is lost",
                      ["connection"])  # connection: kafka|database (jsp_common.connections)
OUTBOX_BACKLOG = Gauge("jsp_outbox_backlog", "Events in the outbox not yet published", ["service"])
WORKDAY_CALENDAR_KNOWN_UNTIL = Gauge(
    "jsp_workday_calendar_known_until_seconds",
    "End (Unix time) of the last year whose holiday schedule the working-day calendar knows; working-day "
    "deadlines after it count Monday to Friday")
