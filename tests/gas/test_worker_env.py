"""The runtime environment gas asks for its Ray workers (one malloc arena per worker process)."""

from __future__ import annotations

from gas.tune import worker_runtime_env


def test_workers_get_one_malloc_arena(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert worker_runtime_env() == {"env_vars": {"MALLOC_ARENA_MAX": "1"}}


def test_a_user_setting_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert worker_runtime_env() == {}
