"""Offline, strict validation of every rendered overlay: `make k8s-validate` (also run by `make test`).

Each folder of deploy/k8s with a kustomization.yaml is rendered with kustomize and every document is validated
against a schema that rejects unknown fields; a document of a kind without a schema fails (skipped: 0).

Schemas, all made or read on this machine, cached under .local/k8s (the second run only validates):
- Kubernetes kinds: the strict schemas bundled in `kubernetes-validate` (PyPI), Kubernetes K8S_VERSION;
- Strimzi (kafka.strimzi.io/v1): the CRDs Strimzi's own generator (io.strimzi:crd-generator, Maven Central)
  makes from the model classes of io.strimzi:api, at the release platform.yaml pins (needs Java 21+);
- KEDA (keda.sh/v1alpha1): the typed models of `cloudcoil-models-keda` (PyPI), as JSON Schema;
- CloudNativePG (postgresql.cnpg.io/v1): deploy/k8s/schemas/cloudnative-pg.schema.json, hand-written.
CRD schemas are made strict the way `kubectl apply --validate=strict` reads them: an object that lists its
properties and does not preserve unknown fields accepts no other. CEL rules (x-kubernetes-validations) are
not evaluated.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generator import K8S, ROOT, platform  # noqa: E402
from generator.layout import overlays  # noqa: E402

K8S_VERSION = "1.33"
KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1"  # the newest that builds with Go 1.26
CACHE = ROOT / ".local/k8s"
STRIMZI_KINDS = {"Kafka": "kafka.Kafka", "KafkaNodePool": "nodepool.KafkaNodePool",
                 "KafkaTopic": "topic.KafkaTopic", "KafkaUser": "user.KafkaUser"}
OBJECT_META = {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {
    "name": {"type": "string"}, "namespace": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}


def _run(cmd: list[str], **kw) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{res.stdout}{res.stderr}")


def kustomize() -> Path:
    binary = CACHE / "bin/kustomize"
    if not binary.exists():
        if not shutil.which("go"):
            raise SystemExit("error: Go is needed once to build kustomize (go install)")
        print(f"building kustomize ({KUSTOMIZE}) into {binary.parent} ...", flush=True)
        _run(["go", "install", KUSTOMIZE], env={**os.environ, "GOBIN": str(binary.parent)})
    return binary


def render(names: list[str]) -> dict[str, list[dict]]:
    """``kustomize build`` of each overlay, side by side."""
    binary = str(kustomize())
    procs = {n: subprocess.Popen([binary, "build", str(K8S / n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for n in names}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"kustomize build deploy/k8s/{name} failed:\n{stderr}")
        out[name] = [d for d in yaml.load_all(stdout, Loader=yaml.CSafeLoader) if d]
    return out


def _java21() -> str:
    candidates = [os.environ.get("JAVA_HOME", "") + "/bin/java", shutil.which("java") or "",
                  *sorted(str(p) for p in Path("/usr/lib/jvm").glob("*/bin/java"))]
    for java in candidates:
        if not java or not Path(java).exists():
            continue
        out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
        m = re.search(r'version "(\d+)', out)
        if m and int(m.group(1)) >= 21:
            return java
    raise SystemExit("error: Strimzi's CRD generator needs Java 21 or newer (set JAVA_HOME)")


def strimzi_crds() -> Path:
    version = platform()["kafka"]["strimzi"]
    out = CACHE / f"strimzi-{version}"
    if not (out / ".done").exists():
        libs = out / "libs"
        print(f"generating Strimzi {version} CRDs into {out} ...", flush=True)
        _run(["mvn", "-q", "-B", "-f", str(K8S / "schemas/strimzi/pom.xml"), f"-Dstrimzi.version={version}",
              "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={libs}"])
        _run([_java21(), "-cp", f"{libs}/*", "io.strimzi.crdgenerator.CrdGenerator", "--yaml",
              "--crd-api-version", "v1", "--api-versions", "v1", "--storage-version", "v1",
              "--describe-api-versions", "v1alpha1",
              *(f"io.strimzi.api.kafka.model.{cls}={out / kind}.yaml" for kind, cls in STRIMZI_KINDS.items())])
        (out / ".done").touch()
    return out


def strict(schema: dict, top: bool = True) -> dict:
    """A CRD's openAPIV3Schema with unknown fields rejected wherever the CRD lists the fields."""
    s = copy.copy(schema)
    if top:
        s["properties"] = {**s["properties"], "metadata": OBJECT_META}
        s["required"] = sorted({*s.get("required", []), "apiVersion", "kind", "metadata"})
    if "properties" in s:
        if not s.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in s:
            s["additionalProperties"] = False
        s["properties"] = {k: (v if top and k == "metadata" else strict(v, False)) for k, v in s["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(s.get(key), dict):
            s[key] = strict(s[key], False)
    return s


def _strict_pydantic(schema: dict) -> dict:
    def walk(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    schema = copy.deepcopy(schema)
    walk(schema)
    return schema


@cache
def crd_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    out = {}
    for path in sorted(strimzi_crds().glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        for v in crd["spec"]["versions"]:
            if v["served"]:
                key = (f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])
                out[key] = jsonschema.Draft7Validator(strict(v["schema"]["openAPIV3Schema"]))
    from cloudcoil.models.keda import v1alpha1 as keda

    for kind in ("ScaledObject", "TriggerAuthentication"):
        schema = _strict_pydantic(getattr(keda, kind).model_json_schema(by_alias=True))
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
        out[("keda.sh/v1alpha1", kind)] = jsonschema.Draft202012Validator(schema)
    cnpg = json.loads((K8S / "schemas/cloudnative-pg.schema.json").read_text())
    for kind in ("Cluster", "ScheduledBackup"):
        out[("postgresql.cnpg.io/v1", kind)] = jsonschema.Draft7Validator(
            {**cnpg[kind], "definitions": cnpg["definitions"]})
    return out


@cache
def core_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """kubernetes-validate's strict schema of one Kubernetes kind, loaded once (its own validate() reloads
    the 1.4 MB definitions for every document)."""
    from referencing import Registry, Resource

    folder = Path(kubernetes_validate.__file__).parent / f"kubernetes-json-schema/v{K8S_VERSION}.0-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = folder / f"{kind.lower()}-{group}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(_core_definitions(folder)) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _core_definitions(folder: Path) -> dict:
    return json.loads((folder / "_definitions.json").read_text())


def validate(doc: dict) -> str | None:
    """None if ``doc`` is valid; else the validator's message. A kind without a schema is an error."""
    key = (doc.get("apiVersion", ""), doc.get("kind", ""))
    validator = crd_validators().get(key)
    if validator is not None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path)
        return f"{error.message} (at {where or '/'})"
    validator = core_validator(*key)
    if validator is None:
        return f"no schema for {key[0]} {key[1]}: not validated"
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message} (at {where or '/'})"


def main() -> int:
    started = time.monotonic()
    errors, kinds = [], Counter()
    seen: dict[str, str | None] = {}  # the overlays share most documents: each distinct one is checked once
    for overlay, docs in render(overlays()).items():
        for doc in docs:
            kinds[doc["kind"]] += 1
            text = json.dumps(doc, sort_keys=True)
            message = seen[text] if text in seen else seen.setdefault(text, validate(doc))
            if message:
                errors.append(f"deploy/k8s/{overlay}: {doc['kind']} {doc['metadata'].get('name')}: {message}")
    for e in errors:
        print(e, file=sys.stderr)
    total = sum(kinds.values())
    print(f"k8s: {len(overlays())} overlays ({', '.join(overlays())}), {total} documents, "
          f"{total - len(errors)} valid, {len(errors)} invalid, skipped 0 "
          f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}) in {time.monotonic() - started:.1f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
