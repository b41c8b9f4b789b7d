"""deploy/k8s as an operator applies it: rendered with kustomize and validated strictly offline (make test runs
deploy/k8s/validate.py over every overlay first; here the validator is shown to reject broken manifests),
generated files equal to what the data makes, and the rules of a cluster checked on the rendered documents."""

from __future__ import annotations

import copy
import importlib
import re
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from jsp_common import topics

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy/k8s"))

import validate  # noqa: E402
from generator import capacity, consumer_groups, platform, services  # noqa: E402
from generator.layout import drift  # noqa: E402

SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


@cache
def rendered() -> dict[str, list[dict]]:
    return validate.render(["base", "cluster", "one-node"])


def of(overlay: str, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in rendered()[overlay] if d["kind"] == kind}


def first(overlay: str, kind: str) -> dict:
    return copy.deepcopy(next(iter(of(overlay, kind).values())))


# ------------------------------------------------------------------ the validator rejects broken manifests

def test_every_rendered_document_is_valid():
    for overlay, docs in rendered().items():
        for d in docs:
            assert validate.validate(d) is None, (overlay, d["kind"], d["metadata"]["name"], validate.validate(d))


def test_an_unknown_field_is_rejected():
    deployment = first("base", "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert "'imagePullPolicyy' was unexpected" in validate.validate(deployment)
    topic = first("cluster", "KafkaTopic")
    topic["spec"]["retention"] = "30d"
    assert "'retention' was unexpected" in validate.validate(topic)


def test_a_kafka_topic_with_partitions_in_words_is_rejected():
    topic = first("cluster", "KafkaTopic")
    topic["spec"]["partitions"] = "six"
    assert validate.validate(topic) == "'six' is not of type 'integer' (at spec/partitions)"


def test_an_acl_operation_kafka_does_not_know_is_rejected():
    user = first("cluster", "KafkaUser")
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Delete-All"]
    message = validate.validate(user)
    assert message.startswith("'Delete-All' is not one of ['Read', 'Write', 'Create', 'Delete'"), message
    assert "(at spec/authorization/acls/0/operations/0)" in message


def test_a_scaled_object_without_its_target_is_rejected():
    scaled = first("cluster", "ScaledObject")
    del scaled["spec"]["scaleTargetRef"]
    assert validate.validate(scaled) == "'scaleTargetRef' is a required property (at spec)"


def test_a_postgres_cluster_field_outside_the_hand_written_schema_is_rejected():
    cluster = first("cluster", "Cluster")
    cluster["spec"]["failoverDelayy"] = 5
    assert "'failoverDelayy' was unexpected" in validate.validate(cluster)


def test_a_kind_without_a_schema_is_an_error_not_a_skip():
    assert validate.validate({"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}}) \
        == "no schema for example.org/v1 Widget: not validated"


# ------------------------------------------------------------------ drift

def test_generated_files_equal_what_the_catalogue_and_platform_data_make():
    assert drift() == [], "run `make k8s` and commit the result"


# ------------------------------------------------------------------ Kafka

def test_every_catalogue_topic_has_a_kafka_topic_with_three_replicas_and_min_isr_two_on_the_cluster():
    kafka_topics = {d["spec"]["topicName"]: d for d in of("cluster", "KafkaTopic").values()}
    for t in topics.all_topics():
        spec = kafka_topics[t.name]["spec"]
        assert (spec["partitions"], spec["replicas"], spec["config"]["min.insync.replicas"]) == (t.partitions, 3, "2")
        assert spec["config"]["retention.ms"] == str(t.retention_ms)
        assert spec["config"].get("cleanup.policy") == ("compact" if t.compacted else None)
    assert len(kafka_topics) == len(topics.all_topics())


def test_the_one_node_overlay_keeps_one_copy_and_the_cluster_refuses_fewer_than_two_in_sync():
    assert {d["spec"]["replicas"] for d in of("one-node", "KafkaTopic").values()} == {1}
    [kafka] = of("cluster", "Kafka").values()
    config = kafka["spec"]["kafka"]["config"]
    assert (config["auto.create.topics.enable"], config["default.replication.factor"],
            config["min.insync.replicas"]) == (False, 3, 2)
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}
    [listener] = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"] == {"type": "scram-sha-512"}
    pools = of("cluster", "KafkaNodePool")
    assert sorted(tuple(p["spec"]["roles"]) for p in pools.values()) == [("broker",), ("controller",)]
    assert all(p["spec"]["storage"]["type"] == "persistent-claim" for p in pools.values())


@pytest.mark.parametrize("overlay", ["cluster", "one-node"])
def test_the_services_replication_setting_is_one_the_overlay_s_brokers_can_satisfy(overlay):
    """JSP_KAFKA_REPLICATION (what `python -m jsp_common.topics create` run in a pod asks for): the one-node overlay
    was given `cluster`, three copies of each topic from its single broker."""
    brokers = sum(p["spec"]["replicas"] for p in of(overlay, "KafkaNodePool").values()
                  if "broker" in p["spec"]["roles"])
    replication = topics.REPLICATION[of(overlay, "ConfigMap")["jsp-common"]["data"]["JSP_KAFKA_REPLICATION"]]
    assert replication.replicas <= brokers
    assert {t["spec"]["replicas"] for t in of(overlay, "KafkaTopic").values()} == {replication.replicas}


def test_services_log_in_as_the_kafka_user_strimzi_makes_for_them():
    users = of("cluster", "KafkaUser")
    for d in of("cluster", "Deployment").values():
        env = {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        user = env["JSP_KAFKA_SASL_USERNAME"]["value"]
        assert user in users
        assert env["JSP_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": user, "key": "password"}
    departments_users = [u for u in users.values() if u["metadata"]["name"].startswith("dept-")]
    assert departments_users and all(u["spec"]["quotas"]["consumerByteRate"] > 0 for u in departments_users)


def test_each_outside_channel_writes_only_its_own_submissions_topic_and_reads_only_its_own_replies():
    """Kafka binds a user to topics, not to the channel a message names: each channel's clues come on a topic only
    it writes (the intake takes a clue there as that channel's), and no outside party writes the platform's own."""
    users = of("cluster", "KafkaUser")

    def topics_of(user: str, operation: str) -> set[str]:
        return {a["resource"]["name"] for a in users[user]["spec"]["authorization"]["acls"]
                if a["resource"]["type"] == "topic" and operation in a["operations"]}

    for channel, submissions in topics.CHANNEL_SUBMISSIONS.items():
        assert topics_of(f"sender-{channel}", "Write") == {submissions}, channel
        assert topics_of(f"sender-{channel}", "Read") == {topics.CHANNEL_REPLIES[channel]}, channel
    writers = {name for name in users if topics.CLUE_SUBMISSIONS in topics_of(name, "Write")}
    assert writers == {"svc-risk", "svc-inspection", "operator-deadletters"}


# ------------------------------------------------------------------ autoscaling

def test_every_consumer_group_has_a_scaled_object_reading_catalogue_topics_within_its_partitions():
    scaled = of("cluster", "ScaledObject")
    deployments = of("cluster", "Deployment")
    known = {t.name for t in topics.CATALOGUE}
    triggers = {}
    for so in scaled.values():
        assert so["spec"]["scaleTargetRef"]["name"] in deployments
        assert "replicas" not in deployments[so["spec"]["scaleTargetRef"]["name"]]["spec"]  # KEDA owns them
        for tr in so["spec"]["triggers"]:
            meta = tr["metadata"]
            assert meta["topic"] in known, meta
            assert meta["consumerGroup"] in topics.by_name(meta["topic"]).consumers, meta
            assert tr["authenticationRef"]["name"] in of("cluster", "TriggerAuthentication")
            triggers.setdefault(meta["consumerGroup"], []).append((so, meta["topic"]))
    for g in consumer_groups():
        assert sorted(t for _, t in triggers[g.name]) == sorted(g.topics), g.name
        for so, _ in triggers[g.name]:
            # within the partitions of the service's largest group (a smaller group leaves some replicas idle)
            largest = max(x.partitions for x in consumer_groups() if x.service == g.service)
            assert so["spec"]["maxReplicaCount"] <= largest, (g.name, largest)
            assert so["spec"]["minReplicaCount"] >= 2  # every service serves HTTP and runs periodic jobs


def test_the_gateway_scales_on_cpu_behind_https():
    [hpa] = of("cluster", "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "gateway" and hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in of("cluster", "Deployment")["gateway"]["spec"]  # an apply leaves the autoscaler's
    [ingress] = of("cluster", "Ingress").values()
    assert [t["hosts"] for t in ingress["spec"]["tls"]] == [[r["host"] for r in ingress["spec"]["rules"]]]


# ------------------------------------------------------------------ per service

@pytest.mark.parametrize("overlay", ["base", "cluster", "one-node"])
def test_every_service_has_its_deployment_service_pdb_migration_job_and_network_policy(overlay):
    names = {s.name for s in services()}
    assert set(SERVICES) <= names, "a service without an entry in deploy/k8s/platform.yaml"
    jobs = of(overlay, "Job")
    for name in names:
        assert name in of(overlay, "Deployment") and name in of(overlay, "Service")
        assert name in of(overlay, "PodDisruptionBudget") and name in of(overlay, "NetworkPolicy")
        [job] = [j for j in jobs.values() if j["metadata"]["labels"]["app.kubernetes.io/name"] == name]
        assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "-m", name, "migrate"]
        assert platform()["release"].replace(".", "-") in job["metadata"]["name"]  # one Job per release


def test_no_pod_disruption_budget_blocks_a_node_drain():
    for overlay in ("base", "cluster", "one-node"):
        for name, pdb in of(overlay, "PodDisruptionBudget").items():
            assert "minAvailable" not in pdb["spec"] and pdb["spec"]["maxUnavailable"] >= 1, name


def test_network_policies_let_each_service_reach_only_dns_kafka_its_database_and_whom_it_calls():
    for name, np in of("cluster", "NetworkPolicy").items():
        assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]
        peers = [p for rule in np["spec"]["egress"] for p in rule["to"]]
        labels = [p.get("podSelector", {}).get("matchLabels", {}) for p in peers]
        assert {"k8s-app": "kube-dns"} in labels
        assert {"strimzi.io/cluster": "jsp", "strimzi.io/broker-role": "true"} in labels
        assert {"cnpg.io/cluster": f"{name}-db"} in labels
        other_dbs = [x for x in labels if "cnpg.io/cluster" in x and x["cnpg.io/cluster"] != f"{name}-db"]
        assert other_dbs == []


def test_readiness_waits_for_the_schema_and_database_urls_come_from_cloudnative_pg():
    clusters = of("cluster", "Cluster")
    for name, d in of("cluster", "Deployment").items():
        container = d["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        env = {e["name"]: e for e in container["env"]}
        ref = env[f"JSP_{name.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"{name}-db-app", "key": "uri"} and f"{name}-db" in clusters


def test_open_responses_are_ended_well_before_the_pods_grace_period_ends():
    """SIGTERM: open responses (live pages' streams) get JSP_HTTP_GRACEFUL_SHUTDOWN_S, then the runtime's shutdown
    runs (its final outbox publish may wait up to 10 s); all of it before the kubelet's SIGKILL."""
    from jsp_common.settings import ServiceSettings

    graceful = ServiceSettings.model_fields["http_graceful_shutdown_s"].default
    for name, d in of("cluster", "Deployment").items():
        assert d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] - graceful >= 20, name


def test_settings_accept_the_uri_cloudnative_pg_writes(monkeypatch):
    monkeypatch.setenv("JSP_REGISTRY_DATABASE_URL", "postgresql://registry:pw@registry-db-rw.jsp:5432/registry")
    settings = importlib.import_module("registry.settings").Settings()
    assert settings.database_url == "postgresql+asyncpg://registry:pw@registry-db-rw.jsp:5432/registry"


# ------------------------------------------------------------------ PostgreSQL

def test_each_service_has_its_own_three_instance_cluster_with_backups_and_wal_archiving():
    clusters, backups = of("cluster", "Cluster"), of("cluster", "ScheduledBackup")
    for s in services():
        spec = clusters[s.database]["spec"]
        assert spec["instances"] == 3 and spec["bootstrap"]["initdb"] == {"database": s.name, "owner": s.name}
        assert spec["backup"]["barmanObjectStore"]["wal"]  # WAL archived: point-in-time recovery
        assert 0 < spec["failoverDelay"] < spec["switchoverDelay"]
        assert any(b["spec"]["cluster"]["name"] == s.database for b in backups.values())
    assert {c["spec"]["instances"] for c in of("one-node", "Cluster").values()} == {1}


def test_connections_fit_without_a_pooler():
    """Every replica opens at most 2 × db_pool connections (jsp_common.db); at the most replicas, plus the migration
    Job and headroom for an operator's psql, they stay under max_connections."""
    max_connections = platform()["postgres"]["max_connections"]
    for s in services():
        d = of("cluster", "Deployment")[s.name]["spec"]["template"]["spec"]["containers"][0]
        pool = int({e["name"]: e.get("value") for e in d["env"]}[f"JSP_{s.name.upper()}_DB_POOL_SIZE"])
        assert s.max_replicas * 2 * pool + 10 <= max_connections, s.name


# ------------------------------------------------------------------ capacity

def test_no_topic_has_fewer_partitions_than_the_capacity_model_needs():
    loads = capacity.topic_loads(replicas=3)
    assert {t.topic.name for t in loads} == {t.name for t in topics.CATALOGUE}
    short = [(t.topic.name, t.topic.partitions, t.partitions_needed) for t in loads
             if t.topic.partitions < t.partitions_needed]
    assert short == []


def test_each_service_may_scale_to_the_replicas_its_busiest_topic_needs():
    """docs/capacity.md gives each topic the partitions its load needs at one replica's measured rate per partition;
    the service reading it must be allowed as many replicas, or the partitions stand unread. Before, every service
    was capped at six: the risk service's device readings need twelve (1,223 readings/s per replica)."""
    from generator.layout import files
    from generator.scaling import scaled_objects

    needed = {t.topic.name: t.partitions_needed for t in capacity.topic_loads(replicas=3)}
    scaled = {so["metadata"]["name"]: so["spec"]["maxReplicaCount"] for so in scaled_objects()}
    assert scaled == {d["metadata"]["name"]: d["spec"]["maxReplicaCount"]
                      for d in yaml.safe_load_all(files()["autoscaling/scaledobjects.yaml"]) if d}
    for s in services():
        if not s.groups:
            continue
        busiest = max((needed[t], t) for g in s.groups for t in g.topics)
        assert scaled[s.name] >= busiest[0], (s.name, scaled[s.name], busiest)
        assert scaled[s.name] <= max(g.partitions for g in s.groups), s.name  # beyond every group's: all idle


def test_the_capacity_model_grows_partitions_with_the_load(monkeypatch):
    """The check above can fail: at a thousand times the load the hotline topic needs more than it has."""
    inputs = copy.deepcopy(capacity.capacity_inputs())
    inputs["growth"] = 1000
    monkeypatch.setattr(capacity, "capacity_inputs", lambda: inputs)
    hotline = next(t for t in capacity.topic_loads(3) if t.topic.name == topics.HOTLINE_WORK_ORDERS)
    assert hotline.partitions_needed > hotline.topic.partitions


def test_a_restore_is_a_new_cluster_recovered_to_a_point_in_time_that_validates():
    """The runbook's restore: `database` and `restore_from` in platform.yaml make a new Cluster recovered from
    the old one's backups and WAL up to a time, and repoint the service at it."""
    from generator import Service, postgres, workloads

    s = Service("registry", {**platform()["services"]["registry"], "database": "registry-db-r1",
                             "restore_from": {"cluster": "registry-db", "target_time": "2026-12-01T08:00:00+08:00"}})
    cluster = postgres.cluster(s, 3)
    assert validate.validate(cluster) is None
    assert cluster["metadata"]["name"] == "registry-db-r1"
    assert cluster["spec"]["bootstrap"] == {"recovery": {
        "source": "registry-db", "database": "registry", "owner": "registry",
        "recoveryTarget": {"targetTime": "2026-12-01T08:00:00+08:00"}}}
    assert cluster["spec"]["externalClusters"][0]["barmanObjectStore"]["serverName"] == "registry-db"
    env = {e["name"]: e for e in workloads.deployment(s)["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["JSP_REGISTRY_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "registry-db-r1-app"


# ------------------------------------------------------------------ values the operator sets before applying

PLACEHOLDER = re.compile(r"[\w.-]*example\.gov\.cn")  # a host of the data centre, still the example's


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, str(k)))
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v, path)
    elif isinstance(node, str):
        yield ".".join(path), node


def _before_you_apply() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Before you apply", 1)[1]
    return section.split("\n#", 1)[0]


def test_every_example_host_the_manifests_carry_is_set_in_platform_yaml_and_named_in_the_readme_checklist():
    """The manifests carry hosts of the data centre (the image registry, the public host, the object store) as
    examples: each comes from platform.yaml, never from the generator's code, and README's "Before you apply"
    names the key to set. Before, the public host was a constant in the generator and the checklist did not exist:
    WAL archived to the example's object store until walStorage filled, images pulled from Docker Hub."""
    from generator import HERE
    from generator.layout import files

    in_code = [p.name for p in HERE.glob("*.py") if PLACEHOLDER.search(p.read_text())]
    assert in_code == [], "an example host written into the generator, not platform.yaml"
    keys = {key: value for key, value in _leaves(platform()) if PLACEHOLDER.search(value)}
    hosts = {h for value in keys.values() for h in PLACEHOLDER.findall(value)}
    rendered_hosts = set()
    for rel, content in files().items():
        for doc in yaml.safe_load_all(content) if rel.endswith(".yaml") else ():
            rendered_hosts |= {h for _, value in _leaves(doc) for h in PLACEHOLDER.findall(value)}
    assert rendered_hosts and rendered_hosts <= hosts, rendered_hosts - hosts
    image = next(v for k, v in keys.items() if k == "image")  # images from a registry of the data centre's
    checklist = _before_you_apply()
    assert [k for k in keys if f"`{k}`" not in checklist] == [], "a key the checklist does not name"
    built = f"-t {image.format(service='registry')}:{platform()['release']}"
    assert built in (ROOT / "README.md").read_text(), "README builds an image under a name the manifests do not run"


def test_a_restore_renames_the_migration_job_whose_pod_template_it_changes():
    """A Job's pod template is immutable: the restore's `database` override changes the migration Job's database
    Secret, and an apply of the same Job name failed while the old Job was kept (ttlSecondsAfterFinished, 7 days).
    A Job whose template differs has another name; one whose template is the same keeps its name (re-applying
    the same release creates nothing new)."""
    from generator import Service, workloads

    spec = platform()["services"]["registry"]
    before = workloads.migration_job(Service("registry", spec))
    again = workloads.migration_job(Service("registry", dict(spec)))
    after = workloads.migration_job(Service("registry", {**spec, "database": "registry-db-r1"}))
    assert before["spec"]["template"] != after["spec"]["template"]
    assert before["metadata"]["name"] != after["metadata"]["name"]
    assert again["metadata"]["name"] == before["metadata"]["name"]
    assert len(after["metadata"]["name"]) <= 63  # a label value: the Job's pods carry its name
