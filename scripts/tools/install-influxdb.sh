#!/usr/bin/env bash
# Installs InfluxDB 1.x (`influxd`) from Debian's `influxdb` package, for the store's
# integration tests (store/tests/influxdb.rs). Idempotent: does nothing when influxd exists.
# The package may start a system service on port 8086; the tests never use it (each test
# starts its own influxd on a free port).
set -euo pipefail

if command -v influxd >/dev/null 2>&1 || [ -x /usr/bin/influxd ]; then
    echo "install-influxdb: influxd already installed: $(command -v influxd || echo /usr/bin/influxd)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

echo "install-influxdb: installing Debian package influxdb"
if ! $SUDO apt-get install -y --no-install-recommends influxdb; then
    echo "install-influxdb: install failed; running apt-get update and retrying"
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends influxdb
fi

if ! command -v influxd >/dev/null 2>&1 && [ ! -x /usr/bin/influxd ]; then
    echo "install-influxdb: influxd still missing after installing the package" >&2
    exit 1
fi
echo "install-influxdb: installed $(command -v influxd || echo /usr/bin/influxd)"
