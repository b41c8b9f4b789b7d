"""The topic catalogue: every Kafka topic, its key, its event types, who produces and who may consume.

Topics are created from this list by an explicit start-up step (``python -m jsp_common.topics create``);
the broker's automatic topic creation is off. Department-facing topics share the per-department
prefix ``dept.<department>.`` so access can be granted per department by topic prefix.
Dead-letter topics are derived from the topic and the consumer group (:func:`dead_letter_topic`).
How many copies each partition keeps depends on where the platform runs (:data:`REPLICATION`): the one
place both ``create`` and the Kubernetes generator (deploy/k8s/generate.py, KafkaTopics) read it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from . import departments

DAY_MS = 24 * 3600 * 1000
TOPIC_ALREADY_EXISTS = 36  # Kafka error code
FOREVER = -1


@dataclass(frozen=True)
class Replication:
    """Copies of every partition, and how many must have a write before it is acknowledged (acks=all)."""
    replicas: int
    min_insync_replicas: int


# One broker locally (make run, tests, the one-node overlay); three brokers on a cluster, where a write is
# kept on two before it is acknowledged, so one broker's loss neither stops a partition nor loses an event.
REPLICATION = {"local": Replication(replicas=1, min_insync_replicas=1),
               "cluster": Replication(replicas=3, min_insync_replicas=2)}


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    event_types: tuple[str, ...]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]  # consumer groups of our services, or outside subscribers
    description: str
    partitions: int = 3
    retention_ms: int = 30 * DAY_MS
    compacted: bool = False
    per_department: bool = False  # a template: ``{department}`` is filled in for every department
    reference: bool = False  # reference data every service and department may read (whole, without a group)
    # Consumer groups of our services that read every department's topic of a template (the dashboard): what
    # they cannot process goes to one dead-letter topic for all departments (:func:`dead_letter_topic`).
    department_readers: tuple[str, ...] = ()

    def configs(self, replication: Replication = REPLICATION["local"]) -> dict[str, str]:
        cfg = {"retention.ms": str(self.retention_ms),
               "min.insync.replicas": str(replication.min_insync_replicas)}
        if self.compacted:
            cfg["cleanup.policy"] = "compact"
        return cfg

    def for_department(self, department_code: str) -> "Topic":
        assert self.per_department
        return Topic(**{**self.__dict__, "name": self.name.format(department=department_code),
                        "per_department": False, "department_readers": ()})

    @property
    def service_groups(self) -> tuple[str, ...]:
        """Consumer groups run by our own services (``<service>.<purpose>``); they get dead-letter topics."""
        return tuple(c for c in self.consumers if c.split(".", 1)[0] in SERVICES)


SERVICES = ("registry", "clues", "gateway", "inspection", "risk", "dashboard")  # services that run consumer groups
DEPARTMENT_PREFIX = "dept.{department}."
NOTIFICATIONS = DEPARTMENT_PREFIX + "notifications.v1"
DEPARTMENT_CLUES = DEPARTMENT_PREFIX + "clues.v1"
DEPARTMENT_INSPECTIONS = DEPARTMENT_PREFIX + "inspections.v1"
DEPARTMENT_ALERTS = DEPARTMENT_PREFIX + "alerts.v1"

# Topic names: services name topics only through these constants (and the per-department templates).
MARKET_REGISTRATIONS = "market.registrations.v1"
REGISTRATION_RECEIPTS = "market.registration-receipts.v1"
REGISTRY_ENTITIES = "registry.entities.v1"
REGISTRY_ADJUDICATION = "registry.adjudication.v1"
HOTLINE_WORK_ORDERS = "hotline.work-orders.v1"
CLUE_SUBMISSIONS = "clues.submissions.v1"  # the clues the platform's own services raise (risk, inspection)
# Each outside channel sends its clues on its own topic, which no other channel may write (Kafka grants a user topics,
# not the channel a message names): the channel's topic, by the channel's name in the clues' contracts.
CHANNEL_SUBMISSIONS = {"website": "clues.submissions.website.v1", "association": "clues.submissions.association.v1",
                       "media": "clues.submissions.media.v1"}
HOTLINE_REPLIES = "hotline.replies.v1"
# Each channel other than the hotline reads its own receipts and replies, and no other's (a reply carries what
# the departments found at a business): the channel's topic, by the channel's name in the clues' contracts.
CHANNEL_REPLIES = {"website": "clues.replies.website.v1", "association": "clues.replies.association.v1",
                   "media": "clues.replies.media.v1", "public_security": "clues.replies.public-security.v1"}
CLUE_LIFECYCLE = "clues.lifecycle.v1"
CASE_TRANSFERS = "clues.case-transfers.v1"
INSPECTION_RESULTS = "inspection.results.v1"
INSPECTION_DRAWS = "inspection.draws.v1"
CREDIT_CLASSES = "risk.credit-classes.v1"
DEVICE_READINGS = "monitoring.device-readings.v1"
RISK_ALERTS = "risk.alerts.v1"
INSPECTION_REQUESTS = "risk.inspection-requests.v1"
ABNORMAL_OPERATIONS = "market.abnormal-operations.v1"
RISK_ALERT_EVENTS = ("risk.alert.raised.v1", "risk.alert.acknowledged.v1", "risk.alert.responded.v1",
                     "risk.alert.escalated.v1", "risk.alert.respond-by-changed.v1", "risk.alert.departments-added.v1",
                     "risk.alert.closed.v1")
WORKDAY_SCHEDULES = "reference.workday-schedules.v1"
DEAD_LETTER_REDRIVES = "operations.dead-letter-redrives.v1"  # operators' re-drives of dead letters (jsp_common.deadletters)

# Event-type names, so producers and consumers spell them once.
_REPLY_EVENTS = ("clues.submission.accepted.v1", "clues.submission.rejected.v1", "clues.reply.published.v1")
MARKET_ENTITY_EVENTS = (
    "market.entity.registered.v1",
    "market.entity.changed.v1",
    "market.entity.deregistered.v1",
    "market.entity.revoked.v1",
)

CATALOGUE: tuple[Topic, ...] = (
    # ------------------------------------------------------------------ registry
    Topic(
        name=MARKET_REGISTRATIONS,
        key="uscc",
        event_types=MARKET_ENTITY_EVENTS,
        producers=("market regulation bureau", "gateway (HTTP ingest)"),
        consumers=("registry.intake",),
        description="Registration events of new, changed, deregistered and revoked market entities, "
                    "pushed by the provincial market regulation bureau (省市场监管局).",
        partitions=6,
        retention_ms=90 * DAY_MS,
    ),
    Topic(
        name=ABNORMAL_OPERATIONS,
        key="uscc",
        event_types=("market.abnormal-operation.listed.v1", "market.abnormal-operation.removed.v1"),
        producers=("market regulation bureau",),
        consumers=("risk.indicators",),
        description="Listings in and removals from the abnormal-operation directory (经营异常名录), pushed by the "
                    "provincial market regulation bureau: a risk indicator while the entity is listed.",
        partitions=6,
        retention_ms=FOREVER,
    ),
    Topic(
        name=REGISTRATION_RECEIPTS,
        key="uscc",
        event_types=("registry.registration.accepted.v1", "registry.registration.rejected.v1"),
        producers=("registry",),
        consumers=("market regulation bureau",),
        description="Acceptance and rejection receipts for every registration event, with field-level reasons.",
        retention_ms=90 * DAY_MS,
    ),
    Topic(
        name=REGISTRY_ENTITIES,
        key="uscc",
        event_types=("registry.entity.changed.v1",),
        producers=("registry",),
        consumers=("clues.replica", "inspection.replica", "risk.replica", "dashboard.read-model"),
        description="The current record of every supervised object, with its responsible departments, "
                    "so other services keep their own replicas. Compacted: the latest record per USCC is kept.",
        partitions=6,
        retention_ms=FOREVER,
        compacted=True,
    ),
    Topic(
        name=REGISTRY_ADJUDICATION,
        key="uscc",
        event_types=("registry.adjudication.requested.v1", "registry.adjudication.decided.v1",
                     "registry.adjudication.withdrawn.v1", "registry.assignment.disputed.v1"),
        producers=("registry",),
        consumers=("task-force office", "dashboard.read-model"),
        description="Entities whose responsible department is unclear or disputed (研判定性), the office's decisions, "
                    "and the cases withdrawn unneeded (the entity closed, or the rules now assign it).",
        retention_ms=365 * DAY_MS,
    ),
    Topic(
        name=NOTIFICATIONS,
        key="uscc",
        event_types=("registry.notification.issued.v1", "registry.notification.reminded.v1",
                     "registry.notification.acknowledged.v1", "registry.notification.due-changed.v1"),
        producers=("registry",),
        consumers=("the department's line system", "dashboard (read model, every department's topic)"),
        department_readers=("dashboard.read-model",),
        description="Dual notification (双告知): entities this department must now supervise, reminders for "
                    "unacknowledged notifications, acknowledgements, and acknowledge-by times recomputed when a year's holiday schedule is published.",
        partitions=1,
        retention_ms=365 * DAY_MS,
        per_department=True,
    ),
    # ------------------------------------------------------------------ clues
    Topic(
        name=HOTLINE_WORK_ORDERS,
        key="work_order_no",
        event_types=("hotline.work-order.submitted.v1",),
        producers=("12345 hotline system", "gateway (HTTP ingest)"),
        consumers=("clues.intake",),
        description="Work orders (complaints, reports) forwarded by the 12345 government service hotline.",
        partitions=6,
        retention_ms=90 * DAY_MS,
    ),
    Topic(
        name=CLUE_SUBMISSIONS,
        key="channel_ref",
        event_types=("clues.clue.submitted.v1",),
        producers=("risk", "inspection"),
        consumers=("clues.intake",),
        description="Clues the platform's own services raise (risk triggers, inspection findings), each with its "
                    "own reference. No outside channel writes here: each sends on its own topic.",
        partitions=3,
        retention_ms=90 * DAY_MS,
    ),
    *(Topic(
        name=CHANNEL_SUBMISSIONS[channel],
        key="channel_ref",
        event_types=("clues.clue.submitted.v1",),
        producers=(sender,),
        consumers=("clues.intake",),
        description=f"Clues from the {sender} (channel {channel}), each with its own reference. Only they write "
                    "here; a clue here naming another channel is refused.",
        partitions=3,
        retention_ms=90 * DAY_MS,
    ) for channel, sender in (("website", "government service website"), ("association", "industry associations"),
                              ("media", "news media"))),
    Topic(
        name=HOTLINE_REPLIES,
        key="work_order_no",
        event_types=_REPLY_EVENTS,
        producers=("clues",),
        consumers=("12345 hotline system",),
        description="Receipts for submitted work orders and the handling outcome replied to the source channel.",
        retention_ms=365 * DAY_MS,
    ),
    *(Topic(
        name=CHANNEL_REPLIES[channel],
        key="channel_ref",
        event_types=events,
        producers=("clues",),
        consumers=(reader,),
        description=f"{what} (the counterpart of hotline.replies.v1): read by them alone.",
        retention_ms=365 * DAY_MS,
    ) for channel, reader, events, what in (
        ("website", "government service website", _REPLY_EVENTS,
         "Receipts and outcome replies for the clues the government service website sent"),
        ("association", "industry associations", _REPLY_EVENTS,
         "Receipts and outcome replies for the clues the industry associations sent"),
        ("media", "news media", _REPLY_EVENTS, "Receipts and outcome replies for the clues the news media sent"),
        ("public_security", "public security line system", ("clues.reply.published.v1",),
         "The outcome of each case the police sent back for administrative handling (its case number is the "
         "channel_ref)"))),
    Topic(
        name=CLUE_LIFECYCLE,
        key="clue_id",
        event_types=("clues.clue.transitioned.v1",),
        producers=("clues",),
        consumers=("risk.indicators", "dashboard.read-model"),
        description="Every state change of every clue (who, when, what), for risk monitoring and dashboards.",
        partitions=6,
        retention_ms=365 * DAY_MS,
    ),
    Topic(
        name=CASE_TRANSFERS,
        key="transfer_id",
        event_types=("clues.case.transfer-changed.v1",),
        producers=("clues",),
        consumers=("public security line system", "procuratorate line system"),
        description="Transfers of cases to criminal justice (行刑衔接) and their statutory timers (the approval and "
                    "the police decision in working days, moved when a holiday schedule is published).",
        retention_ms=3 * 365 * DAY_MS,
    ),
    Topic(
        name=DEPARTMENT_CLUES,
        key="clue_id",
        event_types=("clues.clue.dispatched.v1", "clues.clue.chased.v1", "clues.clue.escalated.v1",
                     "clues.clue.deadline-changed.v1", "clues.clue.extension-decided.v1",
                     "clues.clue.return-deadline-changed.v1"),
        producers=("clues",),
        consumers=("the department's line system", "dashboard (read model, every department's topic)"),
        department_readers=("dashboard.read-model",),
        description="Clues dispatched to this department (lead or co-handler), chasers (催办), escalations (督办), "
                    "deadlines moved (an extension approved, a year's holiday schedule published), the office's "
                    "decision on each extension the department asked for, and the return window (退回) of a clue it "
                    "leads moved by a holiday schedule.",
        partitions=1,
        retention_ms=365 * DAY_MS,
        per_department=True,
    ),
    # ------------------------------------------------------------------ inspection
    Topic(
        name=INSPECTION_RESULTS,
        key="uscc",
        event_types=("inspection.result.published.v1",),
        producers=("inspection",),
        consumers=("risk.indicators", "dashboard.read-model"),
        description="Published results of joint random inspections (双随机、一公开), one record per entity "
                    "inspected, with an outcome per inspection item.",
        partitions=6,
        retention_ms=FOREVER,
    ),
    Topic(
        name=INSPECTION_DRAWS,
        key="task_id",
        event_types=("inspection.draw.announced.v1", "inspection.draw.performed.v1", "inspection.draw.abandoned.v1"),
        producers=("inspection",),
        consumers=("public verifiers", "dashboard.read-model"),
        description="Draws of joint random inspections anyone can verify: the seed's hash before the draw, the "
                    "seed, the population snapshots and the result after it; refused and abandoned draws too.",
        retention_ms=FOREVER,
    ),
    Topic(
        name=DEPARTMENT_INSPECTIONS,
        key="task_id",
        event_types=("inspection.task.assigned.v1", "inspection.result.recorded.v1",
                     "inspection.publication.due-changed.v1", "inspection.draw.abandoned.v1"),
        producers=("inspection",),
        consumers=("the department's line system", "dashboard (read model, every department's topic)"),
        department_readers=("dashboard.read-model",),
        description="This department's part of joint inspection tasks (汇总取重): the entities, its items there "
                    "and the joint team; results recorded at those entities with their publication deadline; "
                    "publication deadlines recomputed when a year's holiday schedule is published; a performed "
                    "draw abandoned (its parts are void: the entities are not visited under it).",
        partitions=1,
        retention_ms=365 * DAY_MS,
        per_department=True,
    ),
    # ------------------------------------------------------------------ risk
    Topic(
        name=CREDIT_CLASSES,
        key="uscc",
        event_types=("risk.credit-class.changed.v1",),
        producers=("risk",),
        consumers=("inspection.credit", "dashboard.read-model"),
        description="Every entity's credit risk class (A-D, 信用风险分类) as it changes, for credit-based "
                    "supervision such as the inspection service's sampling ratios. Compacted: the latest "
                    "class per USCC is kept.",
        partitions=6,
        retention_ms=FOREVER,
        compacted=True,
    ),
    Topic(
        name=DEVICE_READINGS,
        key="device_id",
        event_types=("monitoring.device.reading-recorded.v1",),
        producers=("monitoring device platforms (gas detectors, cold-chain thermometers, lift controllers)",),
        consumers=("risk.monitoring",),
        description="Readings and heartbeats of monitoring devices registered to entities (物联网监测): the "
                    "high-volume stream, thousands a second province-wide; keyed by device so one device's "
                    "readings stay in order.",
        partitions=12,
        retention_ms=7 * DAY_MS,
    ),
    Topic(
        name=RISK_ALERTS,
        key="uscc",
        event_types=RISK_ALERT_EVENTS,
        producers=("risk",),
        consumers=("ministries' line systems", "task-force office", "dashboard.read-model"),
        description="Risk alerts (风险预警) of every level for every entity: raised, acknowledged, responded to, "
                    "escalated to the office when unanswered, closed.",
        partitions=6,
        retention_ms=365 * DAY_MS,
    ),
    Topic(
        name=DEPARTMENT_ALERTS,
        key="uscc",
        event_types=RISK_ALERT_EVENTS,
        producers=("risk",),
        consumers=("the department's line system",),
        description="Risk alerts about entities this department is responsible for, with the level's response "
                    "plan and deadline, and what happened to them since.",
        partitions=1,
        retention_ms=365 * DAY_MS,
        per_department=True,
    ),
    Topic(
        name=INSPECTION_REQUESTS,
        key="uscc",
        event_types=("risk.inspection.requested.v1",),
        producers=("risk",),
        consumers=("inspection.requests",),
        description="Targeted inspections (定向检查) that a risk alert's response plan asks for: the entity, the "
                    "departments asked, the level and why; the inspection service keeps them on the must-inspect "
                    "list until a published result covers them.",
        partitions=6,
        retention_ms=365 * DAY_MS,
    ),
    # ------------------------------------------------------------------ reference data
    Topic(
        name=WORKDAY_SCHEDULES,
        key="year",
        event_types=("reference.workday-schedule.published.v1",),
        producers=("gateway (the office's upload)",),
        consumers=("every service that counts working days (reads it whole, no consumer group)",
                   "department line systems"),
        description="The official holiday schedule (节假日安排) of each year, as the office uploads and corrects "
                    "it. Compacted: the newest revision per year is kept.",
        partitions=1,
        retention_ms=FOREVER,
        compacted=True,
        reference=True,
    ),
    # ------------------------------------------------------------------ operations
    Topic(
        name=DEAD_LETTER_REDRIVES,
        key="dead_letter_topic",
        event_types=("operations.dead-letter.redriven.v1",),
        producers=("operators (python -m jsp_common.deadletters redrive)",),
        consumers=("operators", "auditors"),
        description="The record of every dead letter put back on its original topic after a fix: which one, "
                    "why it had failed, where it went, who re-drove it and why.",
        partitions=1,
        retention_ms=FOREVER,
    ),
)


def consumer_groups() -> dict[str, list[str]]:
    """Every consumer group our services run, with the topics it reads, in catalogue order (the dashboard's reads
    of every department's own topics are described on those topics, not listed as a group)."""
    groups: dict[str, list[str]] = {}
    for t in CATALOGUE:
        for g in t.service_groups:
            groups.setdefault(g, []).append(t.name)
    return groups


def departments_group(group: str) -> str:
    """The Kafka consumer group with which ``group``, a reader of every department's own topics (e.g. the
    dashboard's read model), reads those: some 800 quiet partitions, fetched apart from the group's busy topics,
    since each fetch lists every partition its consumer reads. The inbox and dead-letter topics stay ``group``'s."""
    return f"{group}.departments"


ALL_DEPARTMENTS = "all"  # in the name of a dead-letter topic shared by every department's topic of a template


def dead_letter_topic(topic: str, group: str, env_prefix: str | None = None) -> str:
    """The dead-letter topic of one consumer group on one topic (in the environment ``env_prefix``, if any). A
    group reading a per-department topic (the dashboard reads every department's) has one for all departments:
    ``dept.all.<...>.dlq.<group>`` (the original topic is in each dead letter's ``dlq.original.topic`` header)."""
    template = _template_of(topic)
    if template is not None:
        topic = template.name.format(department=ALL_DEPARTMENTS)
    return in_environment(f"{topic}.dlq.{group}", env_prefix)


def _template_of(name: str) -> Topic | None:
    for t in CATALOGUE:
        if t.per_department:
            head, _, tail = t.name.partition("{department}")
            if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
                return t
    return None


def in_environment(name: str, env_prefix: str | None) -> str:
    """A consumer group id or dead-letter topic of one environment (``JSP_ENV_PREFIX``): ``<prefix>.<name>``, so
    two environments on one broker neither share a group's partitions nor each other's dead letters."""
    return f"{env_prefix}.{name}" if env_prefix else name


def declared_types(name: str) -> tuple[str, ...] | None:
    """The event types the catalogue says ``name`` carries (a per-department topic's too); None for a topic the
    catalogue does not know (a test's own, say)."""
    for t in CATALOGUE:
        if t.name == name:
            return t.event_types
    template = _template_of(name)
    return template.event_types if template is not None else None

# Every topic a department has of its own (templates: ``department_topic`` fills in the department).
DEPARTMENT_TEMPLATES: tuple[str, ...] = tuple(t.name for t in CATALOGUE if t.per_department)


def by_name(name: str) -> Topic:
    for t in CATALOGUE:
        if t.name == name:
            return t
    raise KeyError(f"no topic {name!r} in the catalogue")


def department_topic(template: str, department_code: str) -> str:
    """The name of a per-department topic, e.g. ``dept.samr-410100.notifications.v1``."""
    departments.department(department_code)  # refuses unknown departments
    return template.format(department=department_code)



def dead_letter(topic: Topic, env_prefix: str | None = None) -> list[Topic]:
    """The dead-letter topics of a topic's service groups (of a per-department template: those of the groups that
    read every department's topic, one each for all departments)."""
    if topic.per_department:
        groups, what = topic.department_readers, f"every department's {topic.name}"
    else:
        groups, what = topic.service_groups, topic.name
    return [
        Topic(name=dead_letter_topic(topic.name, g, env_prefix), key=topic.key, event_types=(), producers=(g,),
              consumers=("operators",), partitions=1, retention_ms=FOREVER,
              description=f"Messages of {what} that consumer group {g} could not process, "
                          "with the original bytes and headers and the reason in the dlq.* headers.")
        for g in groups
    ]


def all_topics(department_codes: list[str] | None = None, *, env_prefix: str | None = None) -> list[Topic]:
    """Every concrete topic: the catalogue with per-department templates expanded, plus dead-letter topics
    (those of the environment ``env_prefix``, if given)."""
    codes = department_codes if department_codes is not None else [d.code for d in departments.all_departments()]
    out: list[Topic] = []
    for t in CATALOGUE:
        if t.per_department:
            out.extend(t.for_department(c) for c in codes)
        else:
            out.append(t)
        out.extend(dead_letter(t, env_prefix))
    return out


async def create_topics(bootstrap_servers: str, topics: list[Topic] | None = None, *,
                        replication: Replication = REPLICATION["local"], **client_options) -> list[str]:
    """Create every missing topic (idempotent) with ``replication``. Returns the names created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topics = topics if topics is not None else all_topics()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client_options)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        for i in range(0, len(missing), 100):
            chunk = missing[i:i + 100]
            resp = await admin.create_topics([NewTopic(t.name, t.partitions, replication.replicas,
                                                                       topic_configs=t.configs(replication))
                                              for t in chunk], timeout_ms=60000)
            errors = [(e[0], e[1]) for e in resp.topic_errors if e[1] not in (0, TOPIC_ALREADY_EXISTS)]
            if errors:
                raise RuntimeError(f"Kafka refused to create topics: {errors}")
        # Creation is asynchronous: wait until every topic is visible in the cluster metadata.
        wanted = {t.name for t in topics}
        deadline = asyncio.get_running_loop().time() + 300  # a thousand topics on a busy broker take minutes
        while not wanted <= set(await admin.list_topics()):
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("topics were created but did not appear in the metadata within 300s")
            await asyncio.sleep(0.2)
        return [t.name for t in missing]
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    from .cli import run_loop
    from .settings import ServiceSettings

    parser = argparse.ArgumentParser(prog="python -m jsp_common.topics")
    sub = parser.add_subparsers(dest="cmd", required=True)
    create = sub.add_parser("create", help="create every topic of the catalogue that does not exist yet")
    create.add_argument("--replication", choices=sorted(REPLICATION),
                        help="replicas and min.insync.replicas (default: JSP_KAFKA_REPLICATION, else local)")
    sub.add_parser("list", help="print every concrete topic")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    wanted = all_topics(env_prefix=settings.env_prefix)    # JSP_ENV_PREFIX: that environment's dead-letter topics
    if args.cmd == "list":
        for t in wanted:
            print(f"{t.name}\t{t.partitions}\t{t.key}")
        return 0
    replication = REPLICATION[args.replication or settings.kafka_replication]
    created = run_loop(create_topics(settings.kafka_bootstrap_servers, wanted, replication=replication,
                                     **{k: v for k, v in settings.kafka_client_options().items()
                                        if k != "bootstrap_servers"}))
    print(f"topics: {len(created)} created, {len(wanted) - len(created)} already there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
