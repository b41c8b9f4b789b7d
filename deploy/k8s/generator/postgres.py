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
        "bootstrap": {"initdb": {"database": service.name, "owner": service.name}},
        "postgresql": {"parameters": {"max_connections": str(p["max_connections"])}},
        "affinity": {"enablePodAntiAffinity": True, "topologyKey": "kubernetes.io/hostname",
                     "podAntiAffinityType": "required" if instances > 1 else "preferred"},
        "backup": {
            "retentionPolicy": p["backup_retention"],
            "barmanObjectStore": {
                "destinationPath": p["backup_path"].format(cluster=name),
                "endpointURL": p["backup_endpoint"],
                "s3Credentials": {"accessKeyId": {"name": "jsp-backup-s3", "key": "ACCESS_KEY_ID"},
                                  "secretAccessKey": {"name": "jsp-backup-s3", "key": "ACCESS_SECRET_KEY"}},
                "wal": {"compression": "gzip", "maxParallel": 2},
                "data": {"compression": "gzip"},
            },
        },
    }
    if instances > 1:  # a commit is on a standby too before it returns: a failover loses no transaction
        spec["minSyncReplicas"] = 1
        spec["maxSyncReplicas"] = 1
    return {"apiVersion": API, "kind": "Cluster", "metadata": {"name": name}, "spec": spec}


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
