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


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray for the test session; shut down at the end."""
    import logging

    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


@pytest.fixture
def tiny_space_options() -> dict:
    """32px, 10 classes: models build and score in milliseconds on CPU."""
    return {"img_size": 32, "num_classes": 10}
