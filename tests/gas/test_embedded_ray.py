"""gas's own Ray beside a real `ray start` cluster: it never joins one by accident, joins on purpose
with `--address auto`, keeps its token private, and a refused token is one line.

One head node (`ray start --head`, one CPU and a custom resource `gas_test_head`, token
authentication with a token file of its own) runs in $RAY_TMPDIR of its own, so it records itself in
that directory's `ray/ray_current_cluster` as every `ray start` does; the gas processes under test
share that RAY_TMPDIR, as a user's shell shares /tmp/ray. They run as subprocesses (this process may
hold the session Ray of tests/conftest.py, whose token mode Ray caches), each leading a Unix session
that the test kills afterwards, as it kills the head by its session. HOME points at a fresh folder,
so ~/.ray/auth_token is the test's, and absent until gas creates it.

Deselect with `-m "not cluster"`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from ray_heads import BIN, free_ports, kill_sessions, node_ports, ray_start, token_env

pytestmark = pytest.mark.cluster

SEARCH = ["search", "--img-size", "32", "--num-classes", "10", "--budget", "flops=20M", "--trials", "2",
          "--batch-size", "4", "--no-progress"]


@pytest.fixture(scope="module")
def head():
    """A token-authenticated head node: yields (its env, GCS address, its RAY_TMPDIR, its session dir).

    The temp dir is short and directly under /tmp: Ray's unix sockets live in it (paths < 108 bytes).
    """
    tmp = Path(tempfile.mkdtemp(prefix="gash-", dir="/tmp"))
    env, sessions = token_env(tmp), []
    env["RAY_TMPDIR"] = str(tmp)
    gcs, client = free_ports(2)
    try:
        ray_start([str(BIN / "ray"), "start", "--head", f"--port={gcs}", f"--ray-client-server-port={client}",
                   "--node-ip-address=127.0.0.1", "--num-cpus=1", '--resources={"gas_test_head": 1}',
                   "--include-dashboard=false", "--disable-usage-stats", *node_ports()], env, sessions)
        assert (tmp / "ray" / "ray_current_cluster").is_file()
        yield env, f"127.0.0.1:{gcs}", tmp, (tmp / "ray" / "session_latest").resolve()
    finally:
        kill_sessions(sessions)
        shutil.rmtree(tmp, ignore_errors=True)


def user_env(head_tmp: Path, home: Path) -> dict[str, str]:
    """A user's shell on the head's machine: same RAY_TMPDIR, no RAY_* settings, a HOME of its own."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_TMPDIR=str(head_tmp), HOME=str(home), RAY_USAGE_STATS_ENABLED="0",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def run(command: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `command` leading a new Unix session, then kill whatever it left running in it."""
    process = subprocess.Popen(command, env=env, cwd=cwd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        process.kill()
        kill_sessions([process.pid])
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def test_plain_search_starts_its_own_ray_with_a_private_token_and_a_quiet_terminal(head, tmp_path):
    _, _, head_tmp, head_session = head
    env = user_env(head_tmp, tmp_path / "home")
    done = run([str(BIN / "gas"), *SEARCH, "--runs-dir", str(tmp_path / "runs"), "--run", "plain"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 evaluated" in done.stdout
    assert done.stderr == "", "Ray's log lines (the token WARNING) must stay off the terminal"
    session = json.loads((tmp_path / "runs" / "plain" / "ray_session.json").read_text())["session_dir"]
    assert Path(session).resolve() != head_session, "the search joined the running cluster"
    token = tmp_path / "home" / ".ray" / "auth_token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert len(token.read_text()) == 64


PROBE = """
import json, os, sys
import ray
from gas.tune import ray_session
found, niceness = {}, {}
for address in sys.argv[1:]:
    with ray_session(None if address == "none" else address) as session:
        found[address] = sorted(set().union(*session.nodes))
        niceness[address] = ray.get(ray.remote(num_cpus=0)(lambda: os.nice(0)).remote())
print(json.dumps({"resources": found, "worker_niceness": niceness, "driver_niceness": os.nice(0)}))
"""


def test_address_auto_joins_the_running_cluster_and_none_starts_another(head, tmp_path):
    env, _, _, _ = head
    done = run([str(BIN / "python"), "-c", PROBE, "auto", "none"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.splitlines()[-1])
    found = probe["resources"]
    assert "gas_test_head" in found["auto"]
    assert "gas_test_head" not in found["none"] and "CPU" in found["none"]
    # gas's own Ray runs trials at the priority of the command that started it (Ray's default adds 15,
    # which lets any other work on the machine deschedule a latency measurement); a cluster keeps
    # what `ray start` chose.
    assert probe["worker_niceness"]["none"] == probe["driver_niceness"]


@pytest.mark.parametrize("token", ["none", "wrong"])
def test_address_of_a_token_cluster_without_its_token_is_one_hint_line(head, tmp_path, token):
    _, gcs, head_tmp, _ = head
    env = user_env(head_tmp, tmp_path / "home")
    if token == "wrong":
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="0" * 64)
    runs_dir = tmp_path / "runs"
    done = run([str(BIN / "gas"), *SEARCH, "--runs-dir", str(runs_dir), "--address", gcs], env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr[-3000:]
    assert done.stderr.startswith(f"gas: error: the Ray cluster at {gcs} refused the connection: "
                                  "the cluster uses token authentication: export RAY_AUTH_MODE=token")
    assert not runs_dir.exists()
