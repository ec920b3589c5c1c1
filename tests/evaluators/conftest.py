"""Shared fixtures: tiny models and tiny on-disk ImageFolders (the real data is optional)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CIFAR_MINI = SHARED_DATA / "cifar10-mini"


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


@pytest.fixture
def cifar_mini() -> Path:
    """The shared real CIFAR-10 subset; skips the test where it is absent (a fresh clone)."""
    if not CIFAR_MINI.is_dir():
        pytest.skip("shared CIFAR-10 subset (../shared/data/cifar10-mini) not available")
    return CIFAR_MINI


class TinyCNN(nn.Module):
    """Conv + BatchNorm + ReLU + Dropout + Linear: every state a proxy could disturb."""

    def __init__(self, num_classes: int = 4):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(6, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.bn(self.conv(x))))  # [B, 6, H, W]
        return self.fc(x.mean(dim=(2, 3)))  # [B, 6] -> [B, classes]


@pytest.fixture
def tiny_cnn() -> TinyCNN:
    torch.manual_seed(0)
    return TinyCNN()


@pytest.fixture
def image_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 8, 8, generator=generator), torch.randint(0, 4, (8,), generator=generator)
