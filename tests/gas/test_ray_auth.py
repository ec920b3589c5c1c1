"""Token authentication around Ray: the embedded Ray's token is created private, Ray's token WARNING
stays off the terminal, and a GCS probe leaves everything but a refusal to ray.init.

No Ray starts here; the refusal by a real token-authenticated cluster is in test_embedded_ray.py.
"""

from __future__ import annotations

import logging
import socket
import stat
import threading

import pytest

from gas import ray_auth


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A HOME of the test's own and no RAY_AUTH_* settings: ~/.ray/auth_token is absent."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_missing_token_is_created_readable_by_its_owner_only(home):
    created = ray_auth.ensure_private_token()
    assert created == home / ".ray" / "auth_token"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert stat.S_IMODE(created.parent.stat().st_mode) == 0o700
    token = created.read_text()
    assert len(token) == 64 and int(token, 16) >= 0  # Ray's own format: 32 random bytes in hex


def test_an_existing_token_is_left_as_it_is(home):
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text("abc")
    assert ray_auth.ensure_private_token() is None
    assert (home / ".ray" / "auth_token").read_text() == "abc"


def test_the_token_path_variable_is_where_the_token_goes(home, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(home / "tokens" / "mine"))
    assert ray_auth.ensure_private_token() == home / "tokens" / "mine"
    assert not (home / ".ray").exists()


@pytest.mark.parametrize(("name", "value"), [("RAY_AUTH_MODE", "disabled"), ("RAY_AUTH_TOKEN", "f" * 64)])
def test_no_file_when_ray_needs_none(home, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert ray_auth.ensure_private_token() is None
    assert not (home / ".ray").exists()


def test_rays_token_warning_is_dropped_meanwhile_and_the_level_restored(caplog):
    logger = logging.getLogger(ray_auth._AUTH_LOGGER)
    before = logger.level
    with caplog.at_level(logging.WARNING), ray_auth.quiet_auth_warnings():
        logger.warning("Token authentication is enabled for this Ray cluster.")
    assert "Token authentication" not in caplog.text
    assert logger.level == before


def test_a_port_that_is_not_ray_is_left_to_ray_init():
    """A TCP server that closes every connection: not a refusal of the token, so no GasError."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        for _ in range(3):
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        ray_auth.check_token_auth(f"127.0.0.1:{port}", ("127.0.0.1", port), timeout_s=3)
    finally:
        server.close()
