"""Kubernetes manifests of the platform, generated from data: deploy/k8s/platform.yaml (services, versions,
sizes), deploy/k8s/capacity.yaml (the capacity model's inputs), the topic catalogue (jsp_common.topics) and
the departments (jsp_common.departments). `make k8s` writes them; the deploy tests check nothing drifted."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from jsp_common import topics

HERE = Path(__file__).resolve().parent
K8S = HERE.parent
ROOT = K8S.parents[1]


@cache
def platform() -> dict:
    return yaml.safe_load((K8S / "platform.yaml").read_text())


@cache
def capacity_inputs() -> dict:
    return yaml.safe_load((K8S / "capacity.yaml").read_text())


@dataclass(frozen=True)
class Group:
    """A consumer group of one of our services and the topics it reads (from the catalogue)."""
    name: str
    service: str
    topics: tuple[str, ...]

    @property
    def partitions(self) -> int:
        return sum(topics.by_name(t).partitions for t in self.topics)


@dataclass(frozen=True)
class Service:
    name: str
    spec: dict

    def __getitem__(self, key: str):
        return self.spec.get(key, platform()["defaults"].get(key))

    def get(self, key: str, default=None):
        value = self[key]
        return default if value is None else value

    @property
    def groups(self) -> list[Group]:
        return [g for g in consumer_groups() if g.service == self.name]

    @property
    def database(self) -> str:
        """Its CloudNativePG Cluster: ``<service>-db``, or the one restored into (``database`` in platform.yaml)."""
        return self.spec.get("database") or f"{self.name}-db"

    @property
    def kafka_user(self) -> str:
        return f"svc-{self.name}"

    @property
    def min_replicas(self) -> int:
        return self["replicas"]

    @property
    def max_replicas(self) -> int:
        """``max_replicas`` of platform.yaml, or more: as many as the busiest topic it reads needs at the capacity
        model's load (docs/capacity.md: its partitions needed, one replica reading each); never more than its
        largest group has partitions (beyond that every replica would stand idle in every group)."""
        groups = self.groups
        if not groups:
            return self["max_replicas"]
        from .capacity import partitions_needed  # the model reads the groups of this module
        needed = max(partitions_needed(t) for g in groups for t in g.topics)
        return min(max(self["max_replicas"], needed), max(g.partitions for g in groups))


def services() -> list[Service]:
    return [Service(name, spec or {}) for name, spec in platform()["services"].items()]


def consumer_groups() -> list[Group]:
    """Every consumer group of our services, in catalogue order, with the topics it reads."""
    return [Group(g, g.split(".", 1)[0], tuple(ts)) for g, ts in topics.consumer_groups().items()]


def label_selector(service: str, component: str | None = None) -> dict:
    labels = {"app.kubernetes.io/name": service}
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def bootstrap_servers() -> str:
    k = platform()["kafka"]
    return f"{k['cluster']}-kafka-bootstrap.{platform()['namespace']}.svc:{k['listener_port']}"
