"""Shared fixtures: tiny models and the shared real data (optional; ImageFolders are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CIFAR_MINI = SHARED_DATA / "cifar10-mini"


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
