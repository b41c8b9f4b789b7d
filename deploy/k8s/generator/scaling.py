"""KEDA: a ScaledObject per service that runs consumer groups, with a kafka trigger per group and topic it
reads (one ScaledObject per Deployment: KEDA refuses two on the same target); the gateway scales on CPU
(an HorizontalPodAutoscaler in the base, see workloads.py)."""

from __future__ import annotations

import math

from . import bootstrap_servers, platform, services
from .capacity import per_replica
from .kafka import KEDA_USER

API = "keda.sh/v1alpha1"
AUTH = "keda-kafka"


def lag_threshold(group: str) -> int:
    """Lag per replica KEDA aims at: what one replica consumes in `lag_drain_s` seconds."""
    return math.ceil(per_replica(group) * platform()["autoscaling"]["lag_drain_s"])


def scaled_objects() -> list[dict]:
    a = platform()["autoscaling"]
    docs = []
    for s in services():
        if not s.groups:
            continue
        triggers = [{"type": "kafka", "name": f"{g.name}.{t}".replace(".", "-"),
                     "metadata": {"bootstrapServers": bootstrap_servers(), "consumerGroup": g.name, "topic": t,
                                  "lagThreshold": str(lag_threshold(g.name)),
                                  "activationLagThreshold": str(a["activation_lag"]),
                                  "offsetResetPolicy": "earliest", "sasl": "scram_sha512", "tls": "enable"},
                     "authenticationRef": {"name": AUTH}}
                    for g in s.groups for t in g.topics]
        docs.append({"apiVersion": API, "kind": "ScaledObject", "metadata": {"name": s.name},
                     "spec": {"scaleTargetRef": {"name": s.name},
                              # never to zero: the service serves HTTP and runs periodic jobs (chasers)
                              "minReplicaCount": s.min_replicas, "maxReplicaCount": s.max_replicas,
                              "pollingInterval": 15, "cooldownPeriod": 300, "triggers": triggers}})
    return docs


def trigger_authentication() -> list[dict]:
    cluster = platform()["kafka"]["cluster"]
    return [
        # The user name is no secret; Strimzi writes only the password into the user's Secret.
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keda-kafka-login"},
         "stringData": {"username": KEDA_USER}},
        {"apiVersion": API, "kind": "TriggerAuthentication", "metadata": {"name": AUTH},
         "spec": {"secretTargetRef": [
             {"parameter": "username", "name": "keda-kafka-login", "key": "username"},
             {"parameter": "password", "name": KEDA_USER, "key": "password"},
             {"parameter": "ca", "name": f"{cluster}-cluster-ca-cert", "key": "ca.crt"}]}},
    ]
