"""docker-compose and Kubernetes files are checked statically (no engine runs here): every service is
deployed with its migration step, and every variable they set is one the code actually reads."""

import importlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


def known_variables(service: str) -> set[str]:
    """Every environment variable a service's settings class reads."""
    settings_cls = importlib.import_module(f"{service}.settings").Settings
    prefix = settings_cls.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings_cls.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
        names |= {c.upper() for c in choices if isinstance(c, str)} or {f"{prefix}{name}".upper()}
    return names


def k8s_documents() -> list[dict]:
    """The base every overlay builds on (deploy/k8s/base, generated; tests/deploy/test_k8s.py renders them all)."""
    docs = []
    for path in sorted((ROOT / "deploy/k8s/base").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_compose_runs_every_service_after_its_migration_and_the_topic_step():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for svc in SERVICES:
        assert svc in compose and f"{svc}-migrate" in compose, svc
        deps = compose[svc]["depends_on"]
        assert deps[f"{svc}-migrate"]["condition"] == "service_completed_successfully"
    assert compose["topics"]["command"][-2:] == ["jsp_common.topics", "create"]
    published = [name for name, s in compose.items() if s.get("ports")]
    assert published == ["gateway"], "only the gateway is reachable from outside"


def test_compose_s_pages_sign_in_over_its_plain_http_port_and_services_wait_for_postgres_on_tcp():
    """Compose runs in production mode, whose session cookie is Secure, and publishes the gateway over plain HTTP
    (no TLS in front): a browser drops the cookie and signing in led back to the sign-in page. And PostgreSQL is
    healthy only once it takes TCP connections: on a first start its init scripts run on a server listening on
    its socket alone, and a migration that started then failed to connect."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    gateway = compose["gateway"]
    assert gateway["ports"] == ["8000:8000"] and not any("443" in p for p in gateway["ports"])
    assert gateway["environment"]["JSP_GATEWAY_SESSION_COOKIE_SECURE"] == "false"
    check = " ".join(compose["postgres"]["healthcheck"]["test"])
    assert "pg_isready" in check and re.search(r"-h\s+(127\.0\.0\.1|localhost)\b", check), check


def test_the_servers_keep_their_data_on_their_volumes():
    """Recreating a container (an image bump, down and up) keeps the topics and offsets as the databases keep
    theirs: Kafka writes where its volume is mounted."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    kafka = compose["kafka"]
    assert [v.split(":")[1] for v in kafka["volumes"]] == [kafka["environment"]["KAFKA_LOG_DIRS"]]


def test_every_service_image_is_built_from_the_one_dockerfile_with_its_name_and_port():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG SERVICE" in dockerfile and "ARG PORT" in dockerfile
    assert "COPY services/${SERVICE} " in dockerfile, "the service folder comes from the build argument"
    assert not list((ROOT / "services").glob("*/Dockerfile")), "one Dockerfile at the root, none per service"
    assert "COPY deploy/docker/serve.sh " in dockerfile
    copied = [src for src in re.findall(r"^COPY (\S+) ", dockerfile, re.M) if "$" not in src]
    assert "constraints.txt" in copied, "the image installs the versions make test passed with"
    assert [src for src in copied if not (ROOT / src).exists()] == [], "every file the image copies is in the tree"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    built = {name: s["build"] for name, s in compose.items() if "build" in s}
    for name, build in built.items():
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile" and build["context"] == ".", name
        assert build["args"]["SERVICE"] in SERVICES, name
    for svc in SERVICES:
        for name in (svc, f"{svc}-migrate"):
            assert built[name]["args"]["SERVICE"] == svc, name
        port = known_default(svc, "http_port")
        assert built[svc]["args"]["PORT"] == str(port), f"{svc} listens on {port}"


def known_default(service: str, field: str):
    return importlib.import_module(f"{service}.settings").Settings.model_fields[field].default


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_set_for_a_service_is_read_by_its_settings(service):
    known = known_variables(service)  # a service's settings include the shared ones
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    set_in_compose = set(compose[service].get("environment", {}))
    set_in_k8s = set()
    for d in k8s_documents():
        if d["kind"] == "Deployment" and d["metadata"]["name"] == service:
            for c in d["spec"]["template"]["spec"]["containers"]:
                set_in_k8s |= {e["name"] for e in c.get("env", [])}
        if d["kind"] == "ConfigMap":
            set_in_k8s |= set(d["data"])
    unknown = sorted(v for v in set_in_compose | set_in_k8s if v.startswith("JSP_") and v not in known)
    assert unknown == [], f"{service}: variables no settings field reads"


@pytest.mark.parametrize("service", ["registry", "clues", "inspection", "risk"])  # the services that count working days
def test_services_counting_working_days_are_given_the_holiday_overrides_file(service):
    docs = k8s_documents()
    overrides = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "jsp-workday-overrides")
    pod = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == service)["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == service]
    path = {e["name"]: e.get("value") for e in container["env"]}["JSP_WORKDAY_OVERRIDES"]
    [mount] = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"].rstrip("/") + "/")]
    volume = {v["name"]: v for v in pod["volumes"]}[mount["name"]]
    assert volume["configMap"]["name"] == "jsp-workday-overrides"
    assert path.rsplit("/", 1)[1] in overrides["data"]

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]
    assert compose["environment"]["JSP_WORKDAY_OVERRIDES"] == path
    [host] = [v.split(":")[0] for v in compose["volumes"] if v.split(":")[1] == path]
    assert (ROOT / host).read_text().startswith("date,is_workday")
