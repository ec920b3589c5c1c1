"""Ray's token authentication, as gas meets it: its own embedded Ray, and a cluster's refusal.

Ray 2.60 turns token authentication on for every new local instance (`ray.init()` without an
address) unless RAY_AUTH_MODE says otherwise, and creates the token `~/.ray/auth_token` when none
exists, readable by every user of the machine (mode 644), and logs a WARNING about it at every
start. gas keeps token authentication for its embedded Ray (any user of a shared machine could
otherwise connect to it and run code as you), but creates a missing token itself, readable only by
its owner (0600), before Ray would; Ray then finds it and uses it. That WARNING, and the one Ray
logs when `--address auto` finds a token, are kept off the terminal (the README says what is on).

A client that connects to an explicit `HOST:PORT` does not turn token authentication on by itself,
and Ray 2.60 then retries a refused connection for 20 s, printing one "InvalidAuthToken" line a
second, before a generic failure. `check_token_auth` asks the cluster's GCS once, with the token
this process would send, and ends a refusal in one line saying what to set.

The token is looked up as Ray does: $RAY_AUTH_TOKEN, else the file $RAY_AUTH_TOKEN_PATH, else
`~/.ray/auth_token`.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gas_kernel.errors import GasError

__all__ = ["AUTH_HINT", "check_token_auth", "ensure_private_token", "quiet_auth_warnings", "token_path"]

AUTH_HINT = ("the cluster uses token authentication: export RAY_AUTH_MODE=token and make its token available "
             "(~/.ray/auth_token, $RAY_AUTH_TOKEN or $RAY_AUTH_TOKEN_PATH; `ray get-auth-token` on the head prints it)")
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"  # logs the token WARNING at every start


def token_path() -> Path:
    """The token file Ray reads: $RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token."""
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def ensure_private_token() -> Path | None:
    """Before an embedded Ray starts: create its missing token as a 0600 file; returns the file it created.

    Nothing is done when the embedded Ray will not use a token (RAY_AUTH_MODE set to anything but
    `token`) or when a token already exists ($RAY_AUTH_TOKEN, or the file).
    """
    mode = os.environ.get("RAY_AUTH_MODE")
    if (mode is not None and mode.lower() != "token") or os.environ.get("RAY_AUTH_TOKEN"):
        return None
    path = token_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32))  # what Ray's own generator writes: 256 random bits, hex
    return path


@contextmanager
def quiet_auth_warnings() -> Iterator[None]:
    """Keep Ray's token-authentication WARNINGs (logged at every ray.init) off the terminal meanwhile."""
    logger = logging.getLogger(_AUTH_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def check_token_auth(address: str, target: tuple[str, int], timeout_s: float) -> None:
    """GasError with AUTH_HINT when the Ray GCS at `target` (host, port of `address`) refuses this
    process's token, or its lack of one.

    One GetClusterId call through Ray's own channel (which adds the token when this process has
    token authentication on); any other outcome, including a port that is not Ray, is left to ray.init.
    """
    try:
        import grpc
        from ray._private.grpc_utils import init_grpc_channel
        from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc
    except ImportError:  # Ray moved its internals: ray.init still reports the refusal, only slower
        return
    host, port = target
    channel = init_grpc_channel(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    try:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=timeout_s)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNAUTHENTICATED:
            raise GasError(f"the Ray cluster at {address} refused the connection: {AUTH_HINT}") from None
    finally:
        channel.close()
