"""Strimzi resources: the Kafka cluster (KRaft, node pools), a KafkaTopic per concrete topic of the catalogue
and the KafkaUsers with their ACLs (departments by topic prefix, outside senders, our services, KEDA)."""

from __future__ import annotations

from jsp_common import departments, topics

from . import Service, consumer_groups, platform, services
from .capacity import broker_disk_gib


def _meta(name: str, **extra) -> dict:
    return {"name": name, "labels": {"strimzi.io/cluster": platform()["kafka"]["cluster"]}, **extra}


def _api() -> str:
    return platform()["kafka"]["api_version"]


def kafka(replication: topics.Replication, nodes: int, growth: float | None = None) -> list[dict]:
    """The Kafka cluster: `nodes` controllers and `nodes` brokers (one node in both roles when nodes == 1),
    broker disk from the capacity model at `growth` times today's load (default: the model's)."""
    k = platform()["kafka"]
    config = {
        "auto.create.topics.enable": False,  # topics come only from KafkaTopics (the catalogue)
        "default.replication.factor": replication.replicas,
        "min.insync.replicas": replication.min_insync_replicas,
        "offsets.topic.replication.factor": replication.replicas,
        "transaction.state.log.replication.factor": replication.replicas,
        "transaction.state.log.min.isr": replication.min_insync_replicas,
        "unclean.leader.election.enable": False,
    }
    cluster = {
        "apiVersion": _api(), "kind": "Kafka", "metadata": {"name": k["cluster"]},
        "spec": {
            "kafka": {
                "version": k["version"],
                "listeners": [{"name": "tls", "port": k["listener_port"], "type": "internal", "tls": True,
                               "authentication": {"type": "scram-sha-512"}}],
                "authorization": {"type": "simple"},  # without it the KafkaUsers' ACLs are not enforced
                "config": config,
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }
    disk = f"{broker_disk_gib(replication.replicas, nodes, growth=growth)}Gi"
    if nodes == 1:
        pools = [_pool("dual", 1, ["controller", "broker"], disk)]
    else:
        pools = [_pool("controller", nodes, ["controller"], k["controller_storage"]),
                 _pool("broker", nodes, ["broker"], disk)]
    return [cluster, *pools]


def _pool(name: str, replicas: int, roles: list[str], size: str) -> dict:
    return {"apiVersion": _api(), "kind": "KafkaNodePool", "metadata": _meta(name),
            "spec": {"replicas": replicas, "roles": roles,
                     "storage": {"type": "persistent-claim", "size": size, "deleteClaim": False}}}


def kafka_topics(replication: topics.Replication) -> list[dict]:
    return [{"apiVersion": _api(), "kind": "KafkaTopic", "metadata": _meta(t.name),
             "spec": {"topicName": t.name, "partitions": t.partitions, "replicas": replication.replicas,
                      "config": t.configs(replication)}}
            for t in topics.all_topics()]


def _acl(resource_type: str, name: str, operations: list[str], pattern: str = "literal") -> dict:
    return {"resource": {"type": resource_type, "name": name, "patternType": pattern}, "operations": operations}


def _user(name: str, acls: list[dict], description: str, quotas: dict | None = None) -> dict:
    spec: dict = {"authentication": {"type": "scram-sha-512"}, "authorization": {"type": "simple", "acls": acls}}
    if quotas:
        spec["quotas"] = dict(quotas)
    return {"apiVersion": _api(), "kind": "KafkaUser",
            "metadata": _meta(name, annotations={"jsp/description": description}), "spec": spec}


def department_user(code: str, name: str) -> dict:
    prefix = topics.DEPARTMENT_PREFIX.format(department=code)
    return _user(f"dept-{code}", [
        _acl("topic", prefix, ["Read", "Describe"], "prefix"),
        _acl("group", f"{code}.", ["Read", "Describe"], "prefix"),
        *(_acl("topic", t.name, ["Read", "Describe"]) for t in topics.CATALOGUE if t.reference),
    ], f"{name}: reads only its own topics {prefix}* (and the reference data) with consumer groups {code}.<purpose>",
        platform()["kafka"]["quotas"]["department"])


def service_user(service: Service) -> dict:
    acls: list[dict] = []
    for t in topics.CATALOGUE:
        name = "dept." if t.per_department else t.name  # every department's topic
        pattern = "prefix" if t.per_department else "literal"
        if any(p == service.name or p.startswith(f"{service.name} ") for p in t.producers):
            acls.append(_acl("topic", name, ["Write", "Describe"], pattern))
        groups = [g for g in t.service_groups if g.split(".", 1)[0] == service.name]
        if t.reference and not groups:  # read whole from the beginning, without a consumer group
            acls.append(_acl("topic", name, ["Read", "Describe"], pattern))
        readers = [g for g in t.department_readers if g.split(".", 1)[0] == service.name]
        if readers:  # e.g. the dashboard: every department's topic, and the dead-letter topic they share
            acls.append(_acl("topic", name, ["Read", "Describe"], pattern))
            acls += [_acl("topic", topics.dead_letter_topic(t.name, g), ["Write", "Describe"]) for g in readers]
            acls += [a for g in readers if (a := _acl("group", topics.departments_group(g), ["Read", "Describe"]))
                     not in acls]
        if groups:
            acls.append(_acl("topic", name, ["Read", "Describe"], pattern))
            for g in groups:
                acls.append(_acl("group", g, ["Read", "Describe"]))
                acls.append(_acl("topic", topics.dead_letter_topic(t.name, g), ["Write", "Describe"]))
    acls.append(_acl("transactionalId", service.name, ["Write", "Describe"], "prefix"))
    acls.append(_acl("cluster", "kafka-cluster", ["IdempotentWrite"]))
    return _user(service.kafka_user, acls, f"the {service.name} service")


def sender_users() -> list[dict]:
    quotas = platform()["kafka"]["quotas"]["sender"]
    return [
        _user("sender-bureau", [_acl("topic", topics.MARKET_REGISTRATIONS, ["Write", "Describe"]),
                                _acl("topic", topics.ABNORMAL_OPERATIONS, ["Write", "Describe"]),
                                _acl("topic", topics.REGISTRATION_RECEIPTS, ["Read", "Describe"]),
                                _acl("group", "bureau.", ["Read", "Describe"], "prefix"),
                                _acl("cluster", "kafka-cluster", ["IdempotentWrite"])],
              "the market regulation bureau: sends registrations and the abnormal operations list, reads its receipts "
              "(groups bureau.<purpose>)",
              quotas),
        _user("sender-hotline", [_acl("topic", topics.HOTLINE_WORK_ORDERS, ["Write", "Describe"]),
                                 _acl("topic", topics.HOTLINE_REPLIES, ["Read", "Describe"]),
                                 _acl("group", "hotline.", ["Read", "Describe"], "prefix"),
                                 _acl("cluster", "kafka-cluster", ["IdempotentWrite"])],
              "the 12345 hotline: sends work orders, reads receipts and replies (groups hotline.<purpose>)",
              quotas),
        _user("sender-monitoring", [_acl("topic", topics.DEVICE_READINGS, ["Write", "Describe"]),
                                    _acl("cluster", "kafka-cluster", ["IdempotentWrite"])],
              "monitoring device platforms: send device readings and heartbeats", quotas),
        *(_user(f"sender-{channel}", [_acl("topic", topics.CHANNEL_SUBMISSIONS[channel], ["Write", "Describe"]),
                                      _acl("topic", topics.CHANNEL_REPLIES[channel], ["Read", "Describe"]),
                                      _acl("group", f"channel.{channel}.", ["Read", "Describe"], "prefix"),
                                      _acl("cluster", "kafka-cluster", ["IdempotentWrite"])],
                f"the {who}: sends clues on its own topic, reads the receipts and replies of its own clues, no "
                f"other channel's (groups channel.{channel}.<purpose>)", quotas)
          for channel, who in (("website", "government service website"), ("association", "industry associations"),
                               ("media", "news media"))),
        _user("reader-ministries", [_acl("topic", topics.RISK_ALERTS, ["Read", "Describe"]),
                                    _acl("topic", topics.REGISTRY_ADJUDICATION, ["Read", "Describe"]),
                                    _acl("group", "ministry.", ["Read", "Describe"], "prefix")],
              "ministries' and the office's line systems: read every risk alert and the adjudication queue "
              "(groups ministry.<purpose>)", quotas),
        _user("reader-judicial", [_acl("topic", topics.CASE_TRANSFERS, ["Read", "Describe"]),
                                  _acl("topic", topics.CHANNEL_REPLIES["public_security"], ["Read", "Describe"]),
                                  _acl("group", "judicial.", ["Read", "Describe"], "prefix")],
              "the public security and procuratorate line systems: read case transfers and the outcome of the "
              "cases the police sent back (groups judicial.<purpose>)", quotas),
        _user("reader-public", [_acl("topic", topics.INSPECTION_DRAWS, ["Read", "Describe"]),
                                _acl("group", "public.", ["Read", "Describe"], "prefix")],
              "public verifiers of the inspection draws (groups public.<purpose>)", quotas),
    ]


OPERATOR_USER = "operator-deadletters"


def operator_user() -> dict:
    """Operators' dead-letter tool (python -m jsp_common.deadletters): reads the dead-letter topics (no consumer
    group), writes re-driven messages back to their original topics and the record of each re-drive."""
    acls = []
    for t in topics.CATALOGUE:
        if t.service_groups and not t.per_department:
            acls.append(_acl("topic", t.name, ["Write", "Describe"]))
            acls += [_acl("topic", topics.dead_letter_topic(t.name, g), ["Read", "Describe"]) for g in t.service_groups]
        if t.department_readers:  # back to the department's own topic, wherever the dead letter came from
            back = _acl("topic", t.name.split("{department}")[0], ["Write", "Describe"], "prefix")
            acls += [back] if back not in acls else []
            acls += [_acl("topic", dlq.name, ["Read", "Describe"]) for dlq in topics.dead_letter(t)]
    acls += [_acl("topic", topics.DEAD_LETTER_REDRIVES, ["Read", "Write", "Describe"]),
             _acl("cluster", "kafka-cluster", ["IdempotentWrite"])]
    return _user(OPERATOR_USER, acls, "operators: list, inspect and re-drive dead letters (recorded on "
                                      f"{topics.DEAD_LETTER_REDRIVES})")


KEDA_USER = "keda-lag-reader"


def keda_user() -> dict:
    """KEDA reads the lag of our consumer groups: Describe on their topics and groups, nothing else."""
    acls = []
    for g in consumer_groups():
        acls += [_acl("topic", t, ["Describe"]) for t in g.topics]
        acls.append(_acl("group", g.name, ["Describe"]))
    return _user(KEDA_USER, acls, "KEDA: reads the lag of the services' consumer groups to scale them")


def kafka_users() -> list[dict]:
    docs = [service_user(s) for s in services()]
    docs += sender_users()
    docs.append(keda_user())
    docs.append(operator_user())
    docs += [department_user(d.code, d.name) for d in departments.all_departments()]
    return docs
