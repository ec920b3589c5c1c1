"""Named datasets read from local files with torchvision (never downloaded at run time).

`--data fashion-mnist` (or `fashion-mnist:DIR`) reads the four idx files of Fashion-MNIST from DIR
(default `/usr/share/datasets/fashion-mnist`, where `apt-get install dataset-fashion-mnist` puts
them); `--data cifar10:DIR` reads the python batches of CIFAR-10 (`DIR/cifar-10-batches-py`).
torchvision reads them with `download=False`; Fashion-MNIST's gzipped idx files are unpacked once
into `$GAS_DATA_CACHE` (default `~/.cache/gas/datasets`) in the `FashionMNIST/raw/` layout
torchvision expects.

Adaptation of Fashion-MNIST's 28x28 grayscale images: zero-padded by 2 pixels per side to 32x32
(its background is 0, so padding adds background, nothing else), one input channel. 32 is the
smallest size whose token grid unrolls three times at patch stride 4, so every stage count the
`hiera` space offers fits; blueprints take `in_chans=1` (the space's `in_chans` option).
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F

from gas_kernel.errors import GasError

__all__ = ["NAMED_DATASETS", "NAMED_SHAPES", "is_named_dataset", "named_dataset_shape", "read_named_dataset"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                       "t10k-labels-idx1-ubyte")
FASHION_MNIST_PAD = 2  # 28 -> 32 pixels per side
NAMED_DATASETS = ("fashion-mnist", "cifar10")
NAMED_SHAPES = {  # what a model needs to take each dataset as gas reads it (Fashion-MNIST padded to 32 px)
    "fashion-mnist": {"in_chans": 1, "img_size": 32, "num_classes": 10},
    "cifar10": {"in_chans": 3, "img_size": 32, "num_classes": 10},
}

Split = tuple[torch.Tensor, torch.Tensor]  # images [N, C, H, W] uint8, labels [N] int64


def is_named_dataset(spec: str) -> bool:
    """Whether `spec` names a dataset (`fashion-mnist`, `cifar10:DIR`) rather than a folder."""
    return str(spec).split(":", 1)[0].lower() in NAMED_DATASETS


def named_dataset_shape(spec: str) -> dict[str, int]:
    """`in_chans`, `img_size` and `num_classes` of a named dataset spec; {} for a folder."""
    return dict(NAMED_SHAPES.get(str(spec).split(":", 1)[0].lower(), {}))


def read_named_dataset(spec: str) -> tuple[str, tuple[str, ...], Split, Split]:
    """(canonical name, classes, train split, val split) of a named dataset spec."""
    name, _, folder = str(spec).partition(":")
    name = name.lower()
    if name == "fashion-mnist":
        return _fashion_mnist(Path(folder).expanduser() if folder else FASHION_MNIST_DIR)
    if not folder:
        raise GasError(f"--data {name} needs the folder that holds it: {name}:DIR (nothing is downloaded)")
    return _cifar10(Path(folder).expanduser())


def _fashion_mnist(folder: Path) -> tuple[str, tuple[str, ...], Split, Split]:
    from torchvision.datasets import FashionMNIST

    root = _unpacked_fashion_mnist(folder)
    train, val = (FashionMNIST(str(root), train=flag, download=False) for flag in (True, False))
    pad = (FASHION_MNIST_PAD,) * 4
    splits = [(F.pad(d.data.unsqueeze(1), pad), d.targets.long()) for d in (train, val)]  # [N, 1, 32, 32]
    return f"fashion-mnist:{folder}", tuple(train.classes), splits[0], splits[1]


def _unpacked_fashion_mnist(folder: Path) -> Path:
    """A root with `FashionMNIST/raw/<idx files>` unpacked from `folder` (done once, then reused)."""
    missing = [f for f in FASHION_MNIST_FILES if not _first_existing(folder, f)]
    if missing:
        raise GasError(
            f"Fashion-MNIST not found in {folder} (missing {missing[0]}[.gz]); install it with "
            "`apt-get install dataset-fashion-mnist` or pass --data fashion-mnist:DIR"
        )
    root = Path(os.environ.get("GAS_DATA_CACHE", "~/.cache/gas/datasets")).expanduser()
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in FASHION_MNIST_FILES:
        if not (raw / name).exists():
            _copy_unpacked(_first_existing(folder, name), raw / name)
    return root


def _first_existing(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _copy_unpacked(source: Path, target: Path) -> None:
    """Copy (gunzipping when needed) through a temporary file, so a crash leaves no half file."""
    partial = target.with_suffix(".partial")
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rb") as src, open(partial, "wb") as dst:
        shutil.copyfileobj(src, dst)
    partial.replace(target)


def _cifar10(folder: Path) -> tuple[str, tuple[str, ...], Split, Split]:
    from torchvision.datasets import CIFAR10

    root = folder.parent if folder.name == "cifar-10-batches-py" else folder
    if not (root / "cifar-10-batches-py").is_dir():
        raise GasError(f"CIFAR-10 not found: {root}/cifar-10-batches-py does not exist (nothing is downloaded)")
    try:
        train, val = (CIFAR10(str(root), train=flag, download=False) for flag in (True, False))
    except RuntimeError as error:  # torchvision's integrity check
        raise GasError(f"CIFAR-10 in {root} is incomplete or corrupt: {error}") from error
    splits = [(torch.from_numpy(d.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(d.targets))
              for d in (train, val)]  # [N, H, W, C] -> [N, C, H, W]
    return f"cifar10:{root}", tuple(train.classes), splits[0], splits[1]
