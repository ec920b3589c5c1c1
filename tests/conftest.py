"""Shared fixtures: one Ray for the whole session, tiny search settings and tiny on-disk ImageFolders.

Ray starts once (`ray_cluster`, session-scoped, 2 CPUs, no dashboard) and only for the tests that
ask for it; `gas.search` reuses an initialised Ray and leaves it running.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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


def write_image_folder(root: Path, classes: int = 3, per_class: int = 6, size: int = 32, seed: int = 0) -> Path:
    """A tiny ImageFolder (train/ and val/) of random RGB PNGs."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", per_class), ("val", max(2, per_class // 2))):
        for c in range(classes):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    return write_image_folder(tmp_path / "data")


@pytest.fixture
def make_image_folder():
    """The `write_image_folder` function, for tests that need other sizes or counts."""
    return write_image_folder
