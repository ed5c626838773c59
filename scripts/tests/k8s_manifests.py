#!/usr/bin/env python3
"""The Kubernetes manifests (deploy/k8s): they render, pass schema validation, and the probes
and arguments they give the binary work with the binary.

For each overlay under deploy/k8s/overlays/:

1. `kubectl kustomize` renders it;
2. every built-in kind is validated, strictly (unknown fields are errors), against the
   Kubernetes 1.32 OpenAPI schemas shipped by the PyPI package `kubernetes-validate`;
   KEDA's ScaledObject against the models generated from KEDA's CRD (PyPI
   `cloudcoil-models-keda`: the object must load and dump back unchanged, so an unknown or
   misspelt field fails too); Strimzi's kinds (Kafka, KafkaNodePool, KafkaTopic) are not
   schema-checked, as no registry this project can use ships their CRD schemas; any other
   kind without a schema fails;
3. the ScaledObject's kafka triggers name the consumer groups and topics the binary uses
   (`cryptoviz-analytics` on crypto-prices, `cryptoviz-analytics-records` on crypto-news), and
   its maxReplicaCount is not above the partitions of crypto-prices;
4. for each Deployment running the cryptoviz image: its probes' ports resolve to a declared
   containerPort, that port is the one in its `--listen` / `--metrics-listen` argument, and
   the built binary (`$CRYPTOVIZ_BIN` or target/release/cryptoviz), started with the
   container's args and env (the ConfigMap's keys and the literal values; a dummy value for
   each required secret), answers the liveness and readiness paths with 200 there. Two
   changes only, as no Kafka, InfluxDB or cluster runs here: the listen address becomes a free
   127.0.0.1 port, and the log and store backends are the embedded ones (the Kafka and
   InfluxDB keys stay set, so a misspelt key still fails the config's start-up validation);
   the sources point at a dead local address so the test makes no outside calls.

Every process started here is stopped by its PID, also on failure. Needs PyYAML,
kubernetes-validate and cloudcoil-models-keda (scripts/tests/ops.sh installs them in a venv).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import kubernetes_validate
import yaml
from cloudcoil.models.keda import v1alpha1 as keda

from testlib import ROOT, Failure, cryptoviz_binary, free_port, log, stop

OVERLAYS = os.path.join(ROOT, "deploy", "k8s", "overlays")
K8S_VERSION = "1.32"
NOT_VALIDATED = {("kafka.strimzi.io/v1beta2", k) for k in ("Kafka", "KafkaNodePool", "KafkaTopic")}
# Consumer groups and their topics, as cryptoviz/src/stages.rs `lag_groups` names them.
GROUPS = {"cryptoviz-analytics": "crypto-prices", "cryptoviz-analytics-records": "crypto-news"}
# What the test changes in the container's environment (see the docstring).
LOCAL_ENV = {
    "CRYPTOVIZ__LOG__BACKEND": "embedded",
    "CRYPTOVIZ__STORE__BACKEND": "embedded",
    "CRYPTOVIZ__SOURCES__COINGECKO__BASE_URL": "http://127.0.0.1:9",
    "CRYPTOVIZ__SOURCES__COINMARKETCAP__BASE_URL": "http://127.0.0.1:9",
    "CRYPTOVIZ__SOURCES__FEARGREED__BASE_URL": "http://127.0.0.1:9",
    "CRYPTOVIZ__SOURCES__NEWS__ENABLED": "false",
}


def render(overlay):
    out = subprocess.run(["kubectl", "kustomize", overlay], capture_output=True, text=True)
    if out.returncode != 0:
        raise Failure(f"kubectl kustomize {overlay}: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def validate_schemas(name, docs):
    for doc in docs:
        kind, api = doc["kind"], doc["apiVersion"]
        what = f"{name}: {kind}/{doc['metadata']['name']}"
        if (api, kind) in NOT_VALIDATED:
            log(f"  {what}: no published schema here, not validated")
            continue
        if (api, kind) == ("keda.sh/v1alpha1", "ScaledObject"):
            try:
                back = keda.ScaledObject.model_validate(doc).model_dump(
                    by_alias=True, exclude_unset=True, mode="json")
            except Exception as e:  # pydantic's ValidationError
                raise Failure(f"{what}: invalid against KEDA's ScaledObject: {e}") from e
            if back != doc:
                raise Failure(f"{what}: fields KEDA's ScaledObject does not have:\n{doc}\nvs\n{back}")
            log(f"  {what}: valid (KEDA CRD models)")
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as e:
            raise Failure(f"{what}: no schema for {api} {kind}: {e}") from e
        except kubernetes_validate.ValidationError as e:
            path = "/".join(str(p) for p in e.path)
            raise Failure(f"{what}: {path}: {e.message}") from e
        log(f"  {what}: valid (Kubernetes {K8S_VERSION}, strict)")


def check_scaling(name, docs):
    scaled = [d for d in docs if d["kind"] == "ScaledObject"]
    if len(scaled) != 1:
        raise Failure(f"{name}: expected one ScaledObject, found {len(scaled)}")
    spec = scaled[0]["spec"]
    if spec["scaleTargetRef"]["name"] != "consumer":
        raise Failure(f"{name}: the ScaledObject scales {spec['scaleTargetRef']['name']}, not consumer")
    triggers = {t["metadata"]["consumerGroup"]: t["metadata"]["topic"]
                for t in spec["triggers"] if t["type"] == "kafka"}
    if triggers != GROUPS:
        raise Failure(f"{name}: kafka triggers {triggers}, the binary's groups are {GROUPS}")
    topics = {d["metadata"]["name"]: d["spec"]["partitions"] for d in docs if d["kind"] == "KafkaTopic"}
    if spec["maxReplicaCount"] > topics.get("crypto-prices", 0):
        raise Failure(f"{name}: maxReplicaCount {spec['maxReplicaCount']} above the "
                      f"{topics.get('crypto-prices')} partitions of crypto-prices")
    log(f"  {name}: ScaledObject groups {sorted(triggers)}, up to {spec['maxReplicaCount']} "
        f"consumers for {topics['crypto-prices']} partitions")


def container_env(docs, container):
    env = {}
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    for src in container.get("envFrom", []):
        name = src["configMapRef"]["name"]
        if name not in config_maps:
            raise Failure(f"envFrom names ConfigMap {name}, which the overlay does not render")
        env.update(config_maps[name])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["secretKeyRef"]
            if not ref.get("optional"):
                env[var["name"]] = f"test-{ref['key']}"
        else:
            raise Failure(f"env {var['name']}: unsupported source {var['valueFrom']}")
    return env


def wait_ok(url, proc, timeout=60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if proc.poll() is not None:
            raise Failure(f"the binary exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if r.status == 200:
                    return
                last = r.status
        except urllib.error.HTTPError as e:
            last = e.code
        except (urllib.error.URLError, OSError) as e:
            last = e
        time.sleep(0.3)
    raise Failure(f"{url} did not answer 200 within {timeout} s (last: {last})")


def check_probes(name, docs, binary, tmp):
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    checked = 0
    for dep in deployments:
        for c in dep["spec"]["template"]["spec"]["containers"]:
            if not re.search(r"(^|/)cryptoviz(:|@|$)", c["image"]):
                continue
            what = f"{name}: {dep['metadata']['name']}/{c['name']}"
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            args = list(c["args"])
            listen = [i for i, a in enumerate(args) if a in ("--listen", "--metrics-listen")]
            if len(listen) != 1:
                raise Failure(f"{what}: args {args} have no single --listen/--metrics-listen")
            i = listen[0] + 1
            host, port = args[i].rsplit(":", 1)
            probes = {k: c[k]["httpGet"] for k in ("livenessProbe", "readinessProbe") if k in c}
            if set(probes) != {"livenessProbe", "readinessProbe"}:
                raise Failure(f"{what}: needs an httpGet liveness and readiness probe")
            for kind, probe in probes.items():
                p = probe["port"]
                p = ports.get(p) if isinstance(p, str) else p
                if p is None:
                    raise Failure(f"{what}: {kind} port {probe['port']!r} is not a declared port")
                if p != int(port):
                    raise Failure(f"{what}: {kind} on port {p}, but the binary listens on {args[i]}")
            local = free_port()
            args[i] = f"127.0.0.1:{local}"
            env = dict(os.environ)
            env.update(container_env(docs, c))
            env.update(LOCAL_ENV)
            data = os.path.join(tmp, f"{name}-{dep['metadata']['name']}")
            out = open(data + ".log", "w")
            proc = subprocess.Popen([binary, "--data-dir", data, *args], env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
            try:
                for kind, probe in probes.items():
                    wait_ok(f"http://127.0.0.1:{local}{probe['path']}", proc)
                    log(f"  {what}: {kind} {probe['path']} on {probe['port']} ({port}) answers 200"
                        f" [{' '.join(c['args'])}]")
            except Failure as e:
                with open(data + ".log") as f:
                    raise Failure(f"{what}: {e}\n--- its log:\n{f.read()[-3000:]}") from e
            finally:
                stop(proc, what, timeout=30)
            checked += 1
    if checked != 3:
        raise Failure(f"{name}: expected the producer, consumer and api Deployments, checked {checked}")


def main():
    binary = cryptoviz_binary()
    if not shutil.which("kubectl"):
        log("kubectl is required (kubectl kustomize)")
        return 1
    if binary is None:
        return 1
    tmp = tempfile.mkdtemp(prefix="cryptoviz-k8s-")
    try:
        for name in sorted(os.listdir(OVERLAYS)):
            log(f"overlay {name}")
            docs = render(os.path.join(OVERLAYS, name))
            validate_schemas(name, docs)
            check_scaling(name, docs)
            check_probes(name, docs, binary, tmp)
        log("k8s_manifests: ok")
        return 0
    except Failure as e:
        log(f"FAILED: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
