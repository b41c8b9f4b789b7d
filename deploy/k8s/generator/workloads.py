"""Plain Kubernetes resources per service: Deployment, Service, PodDisruptionBudget, the release's migration
Job and a NetworkPolicy (ingress and egress); the shared ConfigMaps; the gateway's Ingress and CPU autoscaler.
Secrets they read are the operators' (Strimzi: <user> and <cluster>-cluster-ca-cert; CloudNativePG:
<cluster>-app) or made out of band (deploy/k8s/secrets.example.yaml)."""

from __future__ import annotations

import hashlib
import json

from . import Service, bootstrap_servers, label_selector, platform, services

CA_DIR = "/etc/kafka-ca"
OVERRIDES_DIR = "/etc/jsp"  # as in docker-compose.yml


def common_config() -> list[dict]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": platform()["namespace"]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "jsp-common"},
         "data": {"JSP_ENVIRONMENT": "production", "JSP_LOG_LEVEL": "INFO",
                  "JSP_KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers(),
                  "JSP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "JSP_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                  # the replication each overlay's brokers hold replaces this (layout.py)
                  "JSP_KAFKA_SSL_CAFILE": f"{CA_DIR}/ca.crt", "JSP_KAFKA_REPLICATION": "cluster"}},
        # Holiday schedules the working-day calendar does not know yet (rows date,is_workday), mounted into
        # the services that count working days; they warn daily when the known schedule ends within 45 days.
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "jsp-workday-overrides"},
         "data": {"workday-overrides.csv": "date,is_workday\n"}},
    ]


def _secret_env(name: str, secret: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _database_env(s: Service) -> dict:
    # CloudNativePG's <cluster>-app Secret: `uri` is postgresql://<owner>:<password>@<cluster>-rw.<ns>:5432/<db>;
    # the settings turn postgresql:// into postgresql+asyncpg://.
    return _secret_env(f"JSP_{s.name.upper()}_DATABASE_URL", f"{s.database}-app", "uri")


def _image(s: Service) -> str:
    return f"{platform()['image'].format(service=s.name)}:{platform()['release']}"


def _env(s: Service) -> list[dict]:
    prefix = f"JSP_{s.name.upper()}_"
    env = [{"name": f"{prefix}HTTP_HOST", "value": "0.0.0.0"}, {"name": f"{prefix}HTTP_PORT", "value": str(s['port'])},
           _database_env(s), {"name": f"{prefix}DB_POOL_SIZE", "value": str(s['db_pool'])},
           {"name": "JSP_KAFKA_SASL_USERNAME", "value": s.kafka_user},
           _secret_env("JSP_KAFKA_SASL_PASSWORD", s.kafka_user, "password")]
    # the public keys of the gateway's signed caller assertions (jsp_common.caller), current and previous
    env.append(_secret_env("JSP_CALLER_KEYS", "caller-keys", "public-keys"))
    if s["metrics_port"]:
        env.append({"name": f"{prefix}METRICS_PORT", "value": str(s["metrics_port"])})
    if s["workday_overrides"]:
        env.append({"name": "JSP_WORKDAY_OVERRIDES", "value": f"{OVERRIDES_DIR}/workday-overrides.csv"})
    env += [{"name": k, "value": v} for k, v in (s["env"] or {}).items()]
    for var, ref in (s["secrets"] or {}).items():
        secret, key = ref.split("/")
        env.append(_secret_env(var, secret, key))
    return env


def _container_security() -> dict:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def deployment(s: Service) -> dict:
    d = platform()["defaults"]
    mounts = [{"name": "kafka-ca", "mountPath": CA_DIR, "readOnly": True}]
    volumes = [{"name": "kafka-ca", "secret": {"secretName": f"{platform()['kafka']['cluster']}-cluster-ca-cert",
                                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]
    if s["workday_overrides"]:
        mounts.append({"name": "workday-overrides", "mountPath": OVERRIDES_DIR, "readOnly": True})
        volumes.append({"name": "workday-overrides", "configMap": {"name": "jsp-workday-overrides"}})
    labels = {**label_selector(s.name, "server"), "app.kubernetes.io/part-of": "jsp"}
    container = {
        "name": s.name, "image": _image(s), "command": ["python", "-m", s.name, "serve"],
        "ports": [{"containerPort": s["port"], "name": "http"}] + (
            [{"containerPort": s["metrics_port"], "name": "metrics"}] if s["metrics_port"] else []),
        "env": _env(s), "envFrom": [{"configMapRef": {"name": "jsp-common"}}], "volumeMounts": mounts,
        # Ready with the database reachable and the schema at this release's head (the migration Job may still be
        # running; until then the pod neither serves nor consumes). Not Kafka: a broker restart keeps pods serving.
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "resources": {"requests": dict(d["requests"]), "limits": dict(d["limits"])},
        "securityContext": _container_security(),
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": s.name, "labels": labels},
            "spec": {"replicas": s["replicas"], "selector": {"matchLabels": label_selector(s.name, "server")},
                     "template": {"metadata": {"labels": labels, "annotations": {
                         "prometheus.io/scrape": "true",
                         "prometheus.io/port": str(s["metrics_port"] or s["port"])}},
                         "spec": {"containers": [container], "volumes": volumes,
                                  "terminationGracePeriodSeconds": 30,
                                  "topologySpreadConstraints": [{
                                      "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                      "whenUnsatisfiable": "ScheduleAnyway",
                                      "labelSelector": {"matchLabels": label_selector(s.name, "server")}}]}}}}


def migration_job(s: Service) -> dict:
    """One Job per release and pod template: `python -m <service> migrate` (under an advisory lock, so a retry or
    a second run at the same time waits and then finds the chain at head). A Job's template is immutable: its name
    ends in a hash of the template, so a change of it (the database a restore repoints the service to) is a new
    Job, where an apply of the old name would fail while that Job is kept (ttlSecondsAfterFinished)."""
    labels = {**label_selector(s.name, "migration"), "app.kubernetes.io/part-of": "jsp"}
    template = {"metadata": {"labels": labels}, "spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "migrate", "image": _image(s), "command": ["python", "-m", s.name, "migrate"],
                        "env": [_database_env(s)], "envFrom": [{"configMapRef": {"name": "jsp-common"}}],
                        "securityContext": _container_security()}]}}
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:8]
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": f"{s.name}-migrate-{platform()['release'].replace('.', '-')}-{digest}",
                         "labels": labels},
            "spec": {"backoffLimit": 6, "activeDeadlineSeconds": 3600, "ttlSecondsAfterFinished": 7 * 86400,
                     "template": template}}


def service(s: Service) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": s.name},
            "spec": {"selector": label_selector(s.name, "server"),
                     "ports": [{"name": "http", "port": s["port"], "targetPort": "http"}] + (
                         [{"name": "metrics", "port": s["metrics_port"], "targetPort": "metrics"}]
                         if s["metrics_port"] else [])}}


def pdb(s: Service) -> dict:
    # maxUnavailable, not minAvailable: a minAvailable equal to the replicas would block every node drain.
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": s.name},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": label_selector(s.name, "server")}}}


def _ns(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def network_policy(s: Service) -> dict:
    """Ingress: the public service from the ingress controller, every service from those that call it (the
    gateway; the dashboard calls the gateway); metrics from monitoring (a service with a metrics port of its own:
    monitoring reaches that port only, and nothing else reaches it).
    Egress: DNS, the Kafka brokers, its own database, and the services it calls."""
    by_name = {x.name: x for x in services()}
    port = [{"port": s["port"], "protocol": "TCP"}]
    sources = [_ns("ingress-nginx")] if s["public"] else []
    sources += [{"podSelector": {"matchLabels": label_selector(x.name)}} for x in services()
                if s.name in (x["calls"] or [])]
    metrics = [{"port": s["metrics_port"], "protocol": "TCP"}] if s["metrics_port"] else port
    ingress = [{"from": sources, "ports": port}, {"from": [_ns("monitoring")], "ports": metrics}]
    kafka = platform()["kafka"]
    egress = [
        {"to": [{**_ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
         "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        {"to": [{"podSelector": {"matchLabels": {"strimzi.io/cluster": kafka["cluster"],
                                                 "strimzi.io/broker-role": "true"}}}],
         "ports": [{"port": kafka["listener_port"], "protocol": "TCP"}]},
        {"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": s.database}}}],
         "ports": [{"port": 5432, "protocol": "TCP"}]},
    ]
    for callee in s["calls"] or []:
        egress.append({"to": [{"podSelector": {"matchLabels": label_selector(callee, "server")}}],
                       "ports": [{"port": by_name[callee]["port"], "protocol": "TCP"}]})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": s.name},
            "spec": {"podSelector": {"matchLabels": label_selector(s.name)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": ingress, "egress": egress}}


def public_entry(s: Service) -> list[dict]:
    """The public service's Ingress (host and certificate: ``ingress`` in platform.yaml) and its autoscaler on CPU
    (it runs no consumer group to scale on)."""
    host, tls_secret = platform()["ingress"]["host"], platform()["ingress"]["tls_secret"]
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
         "metadata": {"name": s.name, "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "2m",
                                                      "nginx.ingress.kubernetes.io/force-ssl-redirect": "true"}},
         # HTTPS only: passwords and tokens never travel in clear, and the pages' Secure session cookie is kept.
         "spec": {"ingressClassName": "nginx", "tls": [{"hosts": [host], "secretName": tls_secret}],
                  "rules": [{"host": host, "http": {"paths": [
             {"path": "/", "pathType": "Prefix",
              "backend": {"service": {"name": s.name, "port": {"name": "http"}}}}]}}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": s.name},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": s.name},
                  "minReplicas": s["replicas"], "maxReplicas": s["max_replicas"],
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                      "type": "Utilization",
                      "averageUtilization": platform()["autoscaling"]["gateway_cpu_percent"]}}}]}},
    ]


def documents(s: Service) -> list[dict]:
    docs = [deployment(s), service(s), pdb(s), migration_job(s), network_policy(s)]
    if s["public"]:
        docs += public_entry(s)
    return docs
