"""CloudNativePG: one Cluster per service (its own database, owner and failover), WAL archiving to an
object store and a daily ScheduledBackup, so that any point in time since the oldest backup can be restored."""

from __future__ import annotations

from . import Service, platform, services

API = "postgresql.cnpg.io/v1"


def cluster(service: Service, instances: int) -> dict:
    p = platform()["postgres"]
    name = service.database
    spec: dict = {
        "instances": instances,
        "imageName": p["image"],
        "primaryUpdateStrategy": "unsupervised",
        # Seconds the primary may be unhealthy before a standby is promoted, and a planned switchover's
        # grace for the primary to stop cleanly (README, "Databases").
        "failoverDelay": p["failover_delay_s"],
        "switchoverDelay": p["switchover_delay_s"],
        "storage": {"size": service["db_storage"]},
        "walStorage": {"size": service["wal_storage"]},
        "bootstrap": _bootstrap(service),
        "postgresql": {"parameters": {"max_connections": str(p["max_connections"])}},
        "affinity": {"enablePodAntiAffinity": True, "topologyKey": "kubernetes.io/hostname",
                     "podAntiAffinityType": "required" if instances > 1 else "preferred"},
        "backup": {
            "retentionPolicy": p["backup_retention"],
            "barmanObjectStore": _store(name),
        },
    }
    if service["restore_from"]:
        spec["externalClusters"] = [_object_store(service["restore_from"]["cluster"])]
    if instances > 1:  # a commit is on a standby too before it returns: a failover loses no transaction
        spec["minSyncReplicas"] = 1
        spec["maxSyncReplicas"] = 1
    return {"apiVersion": API, "kind": "Cluster", "metadata": {"name": name}, "spec": spec}


def _store(cluster: str) -> dict:
    p = platform()["postgres"]
    return {"destinationPath": p["backup_path"].format(cluster=cluster), "endpointURL": p["backup_endpoint"],
            "s3Credentials": {"accessKeyId": {"name": "jsp-backup-s3", "key": "ACCESS_KEY_ID"},
                              "secretAccessKey": {"name": "jsp-backup-s3", "key": "ACCESS_SECRET_KEY"}},
            "wal": {"compression": "gzip", "maxParallel": 2}, "data": {"compression": "gzip"}}


def _object_store(cluster: str) -> dict:
    """An older cluster's backups, read to restore (serverName: the folder it archived into)."""
    store = {k: v for k, v in _store(cluster).items() if k not in ("wal", "data")}
    return {"name": cluster, "barmanObjectStore": {**store, "serverName": cluster}}


def _bootstrap(service: Service) -> dict:
    """A new database (initdb), or, with ``restore_from: {cluster, target_time}`` in platform.yaml, a copy of an
    older cluster recovered from its base backup and WAL up to ``target_time`` (CloudNativePG cannot restore
    in place: the service is repointed to the new cluster by its ``database`` entry)."""
    restore = service["restore_from"]
    if not restore:
        return {"initdb": {"database": service.name, "owner": service.name}}
    recovery = {"source": restore["cluster"], "database": service.name, "owner": service.name}
    if restore.get("target_time"):
        recovery["recoveryTarget"] = {"targetTime": restore["target_time"]}
    return {"recovery": recovery}


def scheduled_backup(service: Service) -> dict:
    p = platform()["postgres"]
    return {"apiVersion": API, "kind": "ScheduledBackup", "metadata": {"name": f"{service.database}-daily"},
            "spec": {"schedule": p["backup_schedule"], "immediate": True, "backupOwnerReference": "self",
                     "method": "barmanObjectStore", "cluster": {"name": service.database}}}


def documents(instances: int) -> list[dict]:
    docs = []
    for s in services():
        docs += [cluster(s, instances), scheduled_backup(s)]
    return docs
