"""Start real Ray nodes with `ray start` for a test, and kill exactly them (imported by the tests).

Every node's `ray start` leads a Unix session of its own (`start_new_session=True`), so teardown
finds every process of the node (raylet, GCS, agents, a job's driver) by that session id and
SIGKILLs them, never with `ray stop` (which would stop other engineers' Ray too). Every port a node
would take by default is picked free, so the nodes never clash with another Ray on the machine.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from process_helpers import kill_all, pids_in_session

__all__ = ["BIN", "free_ports", "kill_sessions", "node_ports", "ray_start", "token_env"]

BIN = Path(sys.executable).parent  # the venv's bin: ray and gas


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free right now on 127.0.0.1, below the kernel's ephemeral range.

    Ports the kernel hands out (bind to port 0) come from the ephemeral range, where Ray's own
    workers and every outgoing connection also draw theirs, so such a port can be taken between
    this check and the head's bind. Below that range only explicit binds take a port.
    """
    low, _ = _ephemeral_range()
    ports: list[int] = []
    for port in random.Random().sample(range(max(1024, low - 12000), low - 1), 400):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free ports below the ephemeral range")


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux default when it cannot be read)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def token_env(tmp: Path) -> dict[str, str]:
    """The environment of a token-authenticated cluster and its clients, with a private token file
    (so the test neither depends on nor touches ~/.ray/auth_token)."""
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


def ray_start(command: list[str], env: dict[str, str], sessions: list[int]) -> None:
    """Run `ray start ...` as the leader of a new Unix session, whose id is appended to `sessions`
    (even when the start fails, so that the caller's teardown still kills what it left)."""
    starter = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    sessions.append(starter.pid)
    output, _ = starter.communicate(timeout=120)
    assert starter.returncode == 0, f"{' '.join(command[1:3])} failed:\n{output[-3000:]}"


def kill_sessions(sessions: list[int]) -> None:
    """SIGKILL every process of the Unix sessions `sessions` (the nodes and all they started)."""
    kill_all(lambda: set().union(*(pids_in_session(session) for session in sessions)))
