"""A real two-node Ray cluster on this machine: a search submitted as a Ray job, then exported.

The cluster (`ray start --head` plus a second `ray start --address` node, one CPU each, every port
picked free, its own --temp-dir) runs with token authentication on, using a token file of its own
(RAY_AUTH_MODE=token, RAY_AUTH_TOKEN_PATH), so the test neither depends on nor touches
~/.ray/auth_token. The job's driver is a separate process; this test process never joins the
cluster, so the session Ray of tests/conftest.py is unaffected. Teardown kills exactly the
processes of this cluster (found by the Unix sessions of its `ray start`s), never `ray stop`.

Deselect with `-m "not cluster"`.
"""

from __future__ import annotations

import py_compile
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from ray_heads import BIN, free_ports, kill_sessions, node_ports, ray_start, token_env

import gas

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
JOB_TIMEOUT_S = 240


def start_cluster(tmp: Path, env: dict[str, str], sessions: list[int]) -> tuple[str, str]:
    """Head and worker node; returns (GCS address, dashboard URL). Each node's `ray start` leads a
    Unix session of its own, whose id is appended to `sessions` (even when the start fails)."""
    gcs, dashboard, client = free_ports(3)
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    head = [str(BIN / "ray"), "start", "--head", f"--port={gcs}", "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard}", f"--ray-client-server-port={client}", f"--temp-dir={tmp / 'ray'}",
            "--include-dashboard=true", *common, *node_ports()]
    ray_start(head, env, sessions)
    ray_start([str(BIN / "ray"), "start", f"--address=127.0.0.1:{gcs}", *common, *node_ports()], env, sessions)
    return f"127.0.0.1:{gcs}", f"http://127.0.0.1:{dashboard}"


@pytest.fixture(scope="module")
def cluster():
    """A head and a worker node on 127.0.0.1: yields (env, GCS address, dashboard URL, temp dir).

    The temp dir is short and directly under /tmp: Ray's unix sockets live in it, and their paths
    must stay under 108 bytes (pytest's tmp_path is too deep).
    """
    tmp = Path(tempfile.mkdtemp(prefix="gasc-", dir="/tmp"))
    env, sessions = token_env(tmp), []
    try:
        gcs, dashboard = start_cluster(tmp, env, sessions)
        yield env, gcs, dashboard, tmp
    finally:
        kill_sessions(sessions)
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
