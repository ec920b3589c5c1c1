"""Shared fixtures: one Ray for the whole session, and tiny search settings.

Ray starts once (`ray_cluster`, session-scoped, 2 CPUs, no dashboard) and only for the tests that
ask for it; `gas.search` reuses an initialised Ray and leaves it running.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytest puts tests/ on sys.path for this conftest, where tests/gas and tests/search_spaces would
# shadow the real packages as namespace packages; the repository root keeps the real ones first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `newcomer` (the README walk-through, minutes) run only when `-m` names them."""
    if "newcomer" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="the README walk-through takes minutes: run it with -m newcomer")
    for item in items:
        if "newcomer" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray for the test session; shut down at the end (its token, if Ray needs to create
    one, is created private, as gas's own Ray does)."""
    import logging

    import ray

    from gas.ray_auth import ensure_private_token

    ensure_private_token()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


@pytest.fixture
def tiny_space_options() -> dict:
    """32px, 10 classes: models build and score in milliseconds on CPU."""
    return {"img_size": 32, "num_classes": 10}
