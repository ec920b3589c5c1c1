"""`--address` of a cluster that cannot be reached: one error line within seconds, nothing left behind.

The unreachable cluster is a closed port on 127.0.0.1 (bound, then closed), so the tests need no
network and never start Ray: the TCP probe in gas.cluster refuses before ray.init is called. A
host that drops packets is simulated by a probe that times out.
"""

from __future__ import annotations

import socket
import time

import pytest

from gas import cluster
from gas.cli import main
from gas.orchestrate import resume
from gas_kernel.errors import GasError

TINY = ["--img-size", "32", "--num-classes", "10", "--budget", "flops=20M", "--trials", "1", "--no-progress"]


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound to find it, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """A runs dir holding one finished-looking run, which a failed start must leave as it is."""
    import ray

    # the session Ray of other test files may be up in this process: hide it, so that the connection
    # path is really taken (the probe refuses before ray.init, so no Ray starts either way)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("GAS_CONNECT_TIMEOUT", raising=False)
    root = tmp_path / "runs"
    (root / "older").mkdir(parents=True)
    (root / "older" / "config.json").write_text('{"space": "hiera", "run": "older"}')
    return root


def snapshot(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"" for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize(("address", "expected"), [
    ("10.0.0.5:6379", ("10.0.0.5", 6379)),
    ("ray://head.example:10001", ("head.example", 10001)),
    ("[::1]:6379", ("::1", 6379)),
    ("auto", None),
    ("local", None),
    ("ray://head.example", None),  # no port: left to Ray
    ("http://head:8265", None),
])
def test_host_port_of_addresses(address, expected):
    assert cluster.host_port(address) == expected


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_closed_port_is_refused_at_once(scheme):
    address = f"{scheme}127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(GasError, match="cannot reach the Ray cluster at") as error:
        cluster.check_reachable(address)
    assert time.monotonic() - started < 5
    assert address in str(error.value) and "\n" not in str(error.value)


def test_silent_host_fails_after_the_timeout(monkeypatch):
    waited = []

    def silent(target, timeout):
        waited.append(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(cluster.socket, "create_connection", silent)
    monkeypatch.setenv("GAS_CONNECT_TIMEOUT", "2.5")
    with pytest.raises(GasError, match=r"10\.255\.255\.1:6379: no answer within 2\.5 s"):
        cluster.check_reachable("10.255.255.1:6379")
    assert waited == [2.5]


def test_auto_and_embedded_ray_are_not_probed(monkeypatch):
    monkeypatch.setattr(cluster.socket, "create_connection", lambda *a, **k: pytest.fail("probed"))
    cluster.check_reachable("auto")
    cluster.check_reachable(None)


def test_default_timeout_and_a_bad_override(monkeypatch):
    monkeypatch.delenv("GAS_CONNECT_TIMEOUT", raising=False)
    assert cluster.connect_timeout() == cluster.CONNECT_TIMEOUT_S
    monkeypatch.setenv("GAS_CONNECT_TIMEOUT", "soon")
    with pytest.raises(GasError, match="GAS_CONNECT_TIMEOUT"):
        cluster.connect_timeout()


@pytest.mark.parametrize("via", ["flag", "ray_client_flag", "env"])
def test_search_against_unreachable_cluster_is_one_line_and_leaves_no_run(via, runs_dir, capsys, monkeypatch):
    address = f"{'ray://' if via == 'ray_client_flag' else ''}127.0.0.1:{closed_port()}"
    flag = ["--address", address] if via != "env" else []
    if via == "env":
        monkeypatch.setenv("RAY_ADDRESS", address)
    before = snapshot(runs_dir)
    started = time.monotonic()
    code = main(["search", "--runs-dir", str(runs_dir), *flag, *TINY])
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - started < 30
    assert err.count("\n") == 1 and err.startswith(f"gas: error: cannot reach the Ray cluster at {address}"), err
    assert snapshot(runs_dir) == before, "a failed connection must leave no run and touch no other"


def test_resume_against_unreachable_cluster_keeps_the_saved_config(runs_dir):
    import optuna

    run = runs_dir / "older"
    (run / "config.json").write_text(
        '{"space": "hiera", "run": "older", "space_options": {"img_size": 32, "num_classes": 10}}')
    optuna.create_study(storage=f"sqlite:///{run / 'study.db'}", study_name="older")
    before = (run / "config.json").read_text()
    with pytest.raises(GasError, match="cannot reach the Ray cluster"):
        resume("older", runs_dir=runs_dir, address=f"127.0.0.1:{closed_port()}", progress=False)
    assert (run / "config.json").read_text() == before, "an unreachable address must not be saved"


def test_local_is_the_embedded_ray(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cluster.resolve_address("local") is None
    monkeypatch.setenv("RAY_ADDRESS", "local")
    assert cluster.resolve_address(None) is None


class FakeRay:
    """Records the arguments of ray.init."""

    def __init__(self):
        self.calls = []

    def init(self, **options):
        self.calls.append(options)


@pytest.mark.parametrize(("address", "expected"), [(None, "local"), ("auto", "auto")])
def test_embedded_ray_never_joins_a_recorded_cluster(address, expected, tmp_path, monkeypatch):
    """ray.init() without an address joins whatever `ray start` recorded; "local" starts a new one."""
    from gas.tune import _init_ray

    monkeypatch.setenv("HOME", str(tmp_path))  # the embedded Ray's token is created here
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    fake = FakeRay()
    _init_ray(fake, address)
    (options,) = fake.calls
    assert options["address"] == expected
    assert ("num_cpus" in options) == (address is None), "num_cpus is refused when joining a cluster"
