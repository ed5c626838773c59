#!/usr/bin/env bash
# The operations tests, one step of scripts/test.sh (after `cargo test --release` built the
# binary): the alert rules (promtool unit tests), the Prometheus, Alertmanager and scrape
# configs, the rules and the Grafana operations dashboard against a real Prometheus scraping
# the binary (ops_prometheus.py), and the Kubernetes manifests (k8s_manifests.py).
#
# Installs what it needs on a fresh Debian machine: prometheus and prometheus-alertmanager
# (apt; they bring promtool and amtool), and a venv under target/ops-venv with the pinned
# Python packages the manifest validation uses. kubectl must be on the PATH (it renders the
# kustomize overlays; Debian 13 packages it as kubernetes-client).
set -euo pipefail
cd "$(dirname "$0")/../.."

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null || ! command -v amtool >/dev/null; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends prometheus prometheus-alertmanager
fi
if ! command -v kubectl >/dev/null; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends kubernetes-client \
    || { echo "kubectl is required (kubectl kustomize): install it" >&2; exit 1; }
fi
venv=target/ops-venv
if ! "$venv/bin/python" -c 'import kubernetes_validate, cloudcoil.models.keda, yaml' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    kubernetes-validate==1.37.0 cloudcoil-models-keda==2.16.1.0 PyYAML==6.0.4
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "--- promtool: alert rules and their unit tests"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts.test.yml

echo "--- promtool / amtool: compose's Prometheus and Alertmanager configs"
# The rule file's path is the container's; check the config against the repository's.
sed "s|/etc/prometheus/alerts.yml|$PWD/deploy/prometheus/alerts.yml|" deploy/prometheus/prometheus.yml > "$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml"
# (deploy/k8s/monitoring/prometheus-scrape.yaml is not checked: Debian builds Prometheus
# without Kubernetes service discovery, so its promtool rejects kubernetes_sd_configs.)
amtool check-config deploy/alertmanager/alertmanager.yml

echo "--- alerts fire and the dashboard's queries answer, on a real Prometheus"
python3 scripts/tests/ops_prometheus.py

echo "--- Kubernetes manifests: render, schemas, probes against the binary"
"$venv/bin/python" scripts/tests/k8s_manifests.py
