"""A real two-node Ray cluster on this machine: a search submitted as a Ray job, then exported.

The cluster (`ray start --head` plus a second `ray start --address` node, one CPU each, every port
picked free, its own --temp-dir) runs with token authentication on, using a token file of its own
(RAY_AUTH_MODE=token, RAY_AUTH_TOKEN_PATH), so the test neither depends on nor touches
~/.ray/auth_token. The job's driver is a separate process; this test process never joins the
cluster, so the session Ray of tests/conftest.py is unaffected. Teardown kills exactly the
processes of this cluster (found by its session directory) and their children, never `ray stop`.

Deselect with `-m "not cluster"`.
"""

from __future__ import annotations

import os
import py_compile
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import gas

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
JOB_TIMEOUT_S = 240


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free right now on 127.0.0.1."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def cluster_env(tmp: Path) -> dict[str, str]:
    """The environment of every cluster process and client: token auth with a private token."""
    token = tmp / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), RAY_USAGE_STATS_ENABLED="0",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def node_ports() -> list[str]:
    """Per-node ports that default to fixed numbers (and so clash with any other Ray here)."""
    names = ("--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--metrics-export-port",
             "--runtime-env-agent-port", "--node-manager-port", "--object-manager-port")
    return [f"{name}={port}" for name, port in zip(names, free_ports(len(names)))]


def start_cluster(tmp: Path, env: dict[str, str]) -> tuple[str, str]:
    """Head and worker node; returns (GCS address, dashboard URL)."""
    gcs, dashboard, client = free_ports(3)
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    head = [str(BIN / "ray"), "start", "--head", f"--port={gcs}", "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard}", f"--ray-client-server-port={client}", f"--temp-dir={tmp / 'ray'}",
            "--include-dashboard=true", *common, *node_ports()]
    ray_start(head, env)
    ray_start([str(BIN / "ray"), "start", f"--address=127.0.0.1:{gcs}", *common, *node_ports()], env)
    return f"127.0.0.1:{gcs}", f"http://127.0.0.1:{dashboard}"


def ray_start(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, check=False, env=env, text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(command[1:3])} failed:\n{(done.stdout + done.stderr)[-3000:]}"


def cluster_pids(session_dir: Path) -> set[int]:
    """The cluster's processes (their command lines name its session) and all their descendants."""
    parents: dict[int, int] = {}
    roots: set[int] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if session_dir.name in (proc / "cmdline").read_bytes().decode(errors="replace"):
                roots.add(int(proc.name))
            parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def stop_cluster(tmp: Path) -> None:
    """SIGKILL every process of this cluster (both nodes, dashboard, job driver); wait until gone."""
    session = (tmp / "ray" / "session_latest").resolve()
    deadline = time.time() + 15
    while (pids := cluster_pids(session)) and time.time() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.3)
    assert not cluster_pids(session), "processes of the test cluster survived teardown"


@pytest.fixture(scope="module")
def cluster():
    """A head and a worker node on 127.0.0.1: yields (env, GCS address, dashboard URL, temp dir).

    The temp dir is short and directly under /tmp: Ray's unix sockets live in it, and their paths
    must stay under 108 bytes (pytest's tmp_path is too deep).
    """
    tmp = Path(tempfile.mkdtemp(prefix="gasc-", dir="/tmp"))
    env = cluster_env(tmp)
    try:
        gcs, dashboard = start_cluster(tmp, env)
        yield env, gcs, dashboard, tmp
    finally:
        if (tmp / "ray" / "session_latest").exists():
            stop_cluster(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def job(env: dict[str, str], dashboard: str, *args: str, timeout: float = 60) -> str:
    """Run `ray job <args>` against the cluster's dashboard; returns its output."""
    command, *rest = args
    done = subprocess.run([str(BIN / "ray"), "job", command, "--address", dashboard, *rest], check=False, env=env,
                          text=True,
                          capture_output=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout + done.stderr


def wait_for_job(env: dict[str, str], dashboard: str, job_id: str) -> str:
    """The job's final status, polled until it ends or JOB_TIMEOUT_S pass."""
    deadline = time.time() + JOB_TIMEOUT_S
    while time.time() < deadline:
        status = re.sub(r"\x1b\[[0-9;]*m", "", job(env, dashboard, "status", job_id))  # no ANSI styles
        final = re.search(rf"Job '{job_id}' (succeeded|failed|was stopped)", status)  # `ray job status` wording
        if final:
            return final.group(1).split()[-1].upper()
        time.sleep(2)
    return "TIMEOUT"


def test_search_submitted_as_a_ray_job_runs_on_the_cluster_and_exports(cluster, tmp_path):
    env, _, dashboard, _ = cluster
    runs_dir = tmp_path / "runs"  # absolute: the job runs in a temporary copy of the working dir
    job_id = "gas-clusterjob-" + secrets.token_hex(3)
    job(env, dashboard, "submit", "--submission-id", job_id, "--working-dir", str(REPO), "--no-wait", "--",
        "gas", "search", "--space", "hiera", "--img-size", "32", "--num-classes", "10", "--budget", "flops=20M",
        "--trials", "3", "--batch-size", "4", "--runs-dir", str(runs_dir), "--run", "clusterjob", "--no-progress")
    status = wait_for_job(env, dashboard, job_id)
    logs = job(env, dashboard, "logs", job_id)
    assert status == "SUCCEEDED", logs[-3000:]
    assert "3 evaluated" in logs

    path = gas.export_best(run="clusterjob", runs_dir=runs_dir, out_dir=tmp_path / "out", name="clusterjob_model")
    py_compile.compile(str(path), doraise=True)
