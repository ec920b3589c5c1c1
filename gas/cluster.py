"""Running on a Ray cluster: where to connect, where results land, what a trial can get.

`gas search --address auto|HOST:PORT|ray://HOST:10001` (or $RAY_ADDRESS, which `ray job submit`
sets for the job's driver) connects to a running cluster on purpose. Without one gas starts its own
embedded Ray (`ray.init(address="local")`) and never joins another: a plain `ray.init()` would join
whatever `ray start` recorded in $RAY_TMPDIR/ray/ray_current_cluster, even a cluster long killed.

Before `ray.init`, an explicit `HOST:PORT` or `ray://HOST:PORT` is probed with a plain TCP connect
bounded by $GAS_CONNECT_TIMEOUT seconds (default 15): Ray 2.60 has no connect timeout of its own
(against a closed port its GCS client was still retrying after 4 minutes; Ray Client gives up after
about 30 s). A port that accepts but is not Ray is still left to Ray's own errors (about 20-35 s).
`auto` is left to Ray, which fails at once when no local cluster is running.

Two things differ on a cluster and are checked here, each ending in one GasError line:

* A Ray job runs its entrypoint in a temporary copy of `--working-dir`; a relative runs directory
  would put the run there and lose it when the job ends, so a job needs an absolute `--runs-dir`
  (or $GAS_RUNS_DIR) on storage every node and the user can read.
* Ray 2.60 enables token authentication: `ray start --head` turns it on when `~/.ray/auth_token`
  exists (or RAY_AUTH_MODE=token), and processes it starts inherit RAY_AUTH_MODE=token (so a job's
  driver is already set). A client connecting to an explicit address does *not* turn it on by
  itself (only `auto` does); it needs RAY_AUTH_MODE=token and the cluster's token in
  ~/.ray/auth_token, $RAY_AUTH_TOKEN or $RAY_AUTH_TOKEN_PATH. gas passes the environment through
  unchanged and says so when a connection is refused for authentication (gas.ray_auth).

Once connected, `check_trial_resources` compares the CPUs and GPUs a trial asks for with the
largest node alive: Ray would otherwise wait forever for a node that does not exist.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from gas.ray_auth import AUTH_HINT, check_token_auth, ensure_private_token
from gas_kernel.errors import GasError, one_line

__all__ = ["CONNECT_TIMEOUT_S", "EMBEDDED", "check_reachable", "check_runs_dir_for_job", "check_trial_resources",
           "connect_error", "connect_timeout", "host_port", "in_ray_job", "prepare_connection", "resolve_address"]

CONNECT_TIMEOUT_S = 15.0  # how long a cluster's port may take to accept a connection; $GAS_CONNECT_TIMEOUT overrides
EMBEDDED = "local"  # ray.init's address for "start a new instance here, join none"


def resolve_address(address: str | None) -> str | None:
    """The cluster to join: `address`, else $RAY_ADDRESS, else None (an embedded local Ray, also for `local`)."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    return None if address == EMBEDDED else address


def prepare_connection(address: str | None) -> str:
    """What to pass to ray.init as its address, once the way there is checked.

    An explicit cluster must accept a TCP connection and this process's token (if it asks for
    one); an embedded Ray (`address` None) gets its token created private first.
    """
    if address is None:
        ensure_private_token()
        return EMBEDDED
    check_reachable(address)
    target = host_port(address)
    if target is not None and not address.startswith("ray://"):  # Ray Client speaks another protocol
        check_token_auth(address, target, connect_timeout())
    return address


def check_trial_resources(nodes: Sequence[Mapping[str, float]], cpus: float, gpus: float) -> None:
    """GasError when no node alive has the CPUs or GPUs one trial asks for (a trial runs on one node).

    `nodes` are the resources of the cluster's live nodes (ray.nodes()[i]["Resources"]). Nodes an
    autoscaler may add later are not known here.
    """
    for option, key, wanted in (("--cpus-per-trial", "CPU", cpus), ("--gpus-per-trial", "GPU", gpus)):
        largest = max((float(node.get(key, 0.0)) for node in nodes), default=0.0)
        if wanted > largest:
            where = f"the largest of its {len(nodes)} nodes" if len(nodes) > 1 else "its one node"
            raise GasError(f"{option} {wanted:g} asks for more than this Ray has: {where} has {largest:g} {key}; "
                           f"lower {option} or add a node with {wanted:g} {key}")


def in_ray_job() -> bool:
    """True inside the driver of a `ray job submit` job (the job supervisor sets this variable)."""
    return "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ


def check_runs_dir_for_job(root: Path) -> None:
    """GasError when a Ray job would write its run into the job's temporary working directory."""
    if in_ray_job() and not root.is_absolute():
        raise GasError(
            f"runs directory {str(root)!r} is relative, and a Ray job runs in a temporary copy of its "
            "working dir: pass an absolute --runs-dir (shared storage on a multi-node cluster) or set GAS_RUNS_DIR"
        )


def connect_error(address: str | None, error: BaseException) -> GasError:
    """One line for a failed ray.init: with the token hint when authentication was the problem."""
    text = one_line(error)
    where = f"the Ray cluster at {address}" if address else "a local Ray"
    if "authenticat" in text.lower() or type(error).__name__ == "AuthenticationError":
        return GasError(f"cannot reach {where}: {AUTH_HINT}")
    return GasError(f"cannot start or reach {where}: {text[:200]}")


def connect_timeout() -> float:
    """Seconds a cluster's port may take to answer: $GAS_CONNECT_TIMEOUT, else CONNECT_TIMEOUT_S."""
    value = os.environ.get("GAS_CONNECT_TIMEOUT", "").strip()
    if not value:
        return CONNECT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise GasError(f"GAS_CONNECT_TIMEOUT={value!r} must be a positive number of seconds")
    return seconds


def host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of `HOST:PORT` or `ray://HOST:PORT`; None for what Ray resolves itself (auto, no port)."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    host = host.strip("[]")  # [::1]:6379
    if "://" in target or not host or not port.isdigit():
        return None
    return host, int(port)


def check_reachable(address: str | None, timeout_s: float | None = None) -> None:
    """GasError, within `timeout_s` (default: connect_timeout()), when `address` does not accept a TCP connection.

    Only the port is checked: a port that answers but is not Ray is left to Ray's own errors.
    """
    target = host_port(address) if address else None
    if target is None:
        return
    timeout_s = connect_timeout() if timeout_s is None else timeout_s
    try:
        socket.create_connection(target, timeout=timeout_s).close()
    except TimeoutError:
        reason = f"no answer within {timeout_s:g} s (set $GAS_CONNECT_TIMEOUT to wait longer)"
    except OSError as error:
        reason = error.strerror or one_line(error)
    else:
        return
    raise GasError(f"cannot reach the Ray cluster at {address}: {reason}; is the head node up and the port open?")
