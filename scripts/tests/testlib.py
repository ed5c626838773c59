"""Helpers shared by the Python end-to-end checks in scripts/tests (grafana_queries.py,
ops_prometheus.py, k8s_manifests.py): the failure type, logging, the binary under test, a
free local port, and stopping a started process by its PID."""

import os
import signal
import socket
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Failure(Exception):
    """A check failed; the message says which and why."""


def log(msg):
    print(msg, flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, name, timeout=20):
    """SIGTERM `proc` by its PID, then SIGKILL if it has not exited after `timeout` s."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"{name} (pid {proc.pid}) ignored SIGTERM for {timeout} s: SIGKILL")
        proc.kill()
        proc.wait()


def cryptoviz_binary():
    """The binary under test: `$CRYPTOVIZ_BIN`, else target/release/cryptoviz; None (said on
    stderr) when it is not there."""
    binary = os.environ.get("CRYPTOVIZ_BIN") or os.path.join(ROOT, "target", "release", "cryptoviz")
    if not os.access(binary, os.X_OK):
        print(f"no cryptoviz binary at {binary}: build it first (cargo build --release)",
              file=sys.stderr, flush=True)
        return None
    return binary
