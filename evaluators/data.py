"""ImageFolder data decoded once into uint8 tensors in memory, cached per path within the process.

Short-training proxies run many times on the same small dataset; decoding PNGs each epoch would
cost more than the training. `load_image_folder(root)` reads `root/train` and `root/val` (the
ImageFolder layout torchvision and timm use) and keeps `[N, C, H, W]` uint8 tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from evaluators.named_data import is_named_dataset, read_named_dataset
from gas_kernel.errors import GasError, one_line

__all__ = ["ImageData", "balanced_subset", "clear_cache", "load_data", "load_image_folder", "noise_batch",
           "random_batch"]

_CACHE: dict[tuple[str, int], ImageData] = {}


@dataclass(frozen=True)
class ImageData:
    """Decoded train/val splits of an ImageFolder root."""

    root: str
    classes: tuple[str, ...]
    train_x: torch.Tensor  # [N, C, H, W] uint8
    train_y: torch.Tensor  # [N] int64
    val_x: torch.Tensor  # [M, C, H, W] uint8
    val_y: torch.Tensor  # [M] int64
    mean: torch.Tensor  # [C] float, of the training images in [0, 1]
    std: torch.Tensor  # [C]

    @property
    def img_size(self) -> int:
        return int(self.train_x.shape[-1])

    @property
    def in_chans(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 [B, C, H, W] -> float, standardised per channel with the training statistics."""
        x = images.float().div_(255.0)
        return (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)  # [B, C, H, W]


def load_data(spec: str | Path | ImageData) -> ImageData:
    """The dataset `spec` names: an ImageFolder root, or a named dataset (`fashion-mnist`, `cifar10:DIR`).

    An existing folder always wins over a dataset name, so a folder called `cifar10` is read as one.
    """
    if isinstance(spec, ImageData):
        return spec
    if Path(spec).expanduser().is_dir() or not is_named_dataset(str(spec)):
        return load_image_folder(spec)
    key = (str(spec).lower(), 0)
    if key not in _CACHE:
        name, classes, (train_x, train_y), (val_x, val_y) = read_named_dataset(str(spec))
        _CACHE[key] = _image_data(name, classes, train_x, train_y, val_x, val_y)
    return _CACHE[key]


def load_image_folder(root: str | Path) -> ImageData:
    """The decoded dataset under `root` (train/ and val/); GasError saying what is missing."""
    path = Path(root).expanduser().resolve()
    key = (str(path), _mtime(path))
    if key not in _CACHE:
        _CACHE[key] = _decode(path)
    return _CACHE[key]


def clear_cache() -> None:
    _CACHE.clear()


def random_batch(data: ImageData, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random batch of normalised training images and their labels."""
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(data.train_y), generator=generator)[:batch_size]
    return data.normalize(data.train_x[index]), data.train_y[index]


def noise_batch(in_chans: int, img_size: int, num_classes: int, batch_size: int,
                seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded batch of standard-normal images and random labels: what proxies score without data."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn((batch_size, in_chans, img_size, img_size), generator=generator)  # [B, C, H, W]
    return inputs, torch.randint(0, max(1, num_classes), (batch_size,), generator=generator)


def balanced_subset(data: ImageData, images: int, seed: int = 0) -> ImageData:
    """The same data with `images` training images, as many of each class, drawn with a fixed seed.

    The validation split is kept whole. The subset depends on (`images`, `seed`) only, so every
    model trained on it sees the same images, whatever its own training seed.
    """
    per_class = images // data.num_classes
    if per_class < 1 or images > len(data.train_y):
        raise GasError(f"a training subset of {images} images needs 1..{len(data.train_y)} images, "
                       f"at least one per class ({data.num_classes} classes)")
    order = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(seed))
    labels = data.train_y[order]
    picked = torch.cat([order[labels == c][:per_class] for c in range(data.num_classes)]).sort().values
    return replace(data, root=f"{data.root}[{len(picked)} train images, seed {seed}]",
                   train_x=data.train_x[picked], train_y=data.train_y[picked])


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


def _decode(root: Path) -> ImageData:
    if not root.is_dir():
        raise GasError(f"data folder {root} does not exist; pass an ImageFolder root with train/ and val/")
    splits = {name: _read_split(root / name) for name in ("train", "val")}
    (train_classes, train_x, train_y), (val_classes, val_x, val_y) = splits["train"], splits["val"]
    if train_classes != val_classes:
        raise GasError(f"{root}/train and {root}/val have different class folders; they must match")
    if train_x.shape[1:] != val_x.shape[1:]:
        raise GasError(f"train images are {tuple(train_x.shape[1:])} but val images are {tuple(val_x.shape[1:])}")
    return _image_data(str(root), train_classes, train_x, train_y, val_x, val_y)


def _image_data(root: str, classes: tuple[str, ...], train_x: torch.Tensor, train_y: torch.Tensor,
                val_x: torch.Tensor, val_y: torch.Tensor) -> ImageData:
    """ImageData with the per-channel mean and std of the training images."""
    pixels = train_x.float().div(255.0).transpose(0, 1).reshape(train_x.shape[1], -1)  # [C, N*H*W]
    return ImageData(
        root=root,
        classes=classes,
        train_x=train_x,
        train_y=train_y,
        val_x=val_x,
        val_y=val_y,
        mean=pixels.mean(dim=1),
        std=pixels.std(dim=1).clamp_min(1e-6),
    )


def _read_split(folder: Path) -> tuple[tuple[str, ...], torch.Tensor, torch.Tensor]:
    """(classes, images [N, C, H, W] uint8, labels [N]) of one ImageFolder split."""
    from torchvision.datasets import ImageFolder

    if not folder.is_dir():
        raise GasError(f"{folder} does not exist; the data folder needs train/ and val/ ImageFolder splits")
    try:
        dataset = ImageFolder(str(folder))
    except (FileNotFoundError, RuntimeError) as error:
        raise GasError(f"{folder}: {one_line(error)}") from error
    _check_class_folders(folder, dataset.classes, dataset.targets)
    arrays = [np.asarray(dataset.loader(p).convert("RGB")) for p, _ in dataset.samples]
    sizes = {a.shape for a in arrays}
    if len(sizes) != 1:
        raise GasError(f"{folder}: images have different sizes {sorted(sizes)[:3]}; resize them to one square size")
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()  # [N, H, W, C] -> [N, C, H, W]
    if images.shape[-1] != images.shape[-2]:
        raise GasError(f"{folder}: images are {images.shape[-2]}x{images.shape[-1]}; gas needs square images")
    return tuple(dataset.classes), images, torch.tensor(dataset.targets, dtype=torch.int64)


def _check_class_folders(folder: Path, classes: list[str], targets: list[int]) -> None:
    counts = np.bincount(np.asarray(targets, dtype=np.int64), minlength=len(classes))
    empty = [name for name, count in zip(classes, counts) if count == 0]
    if empty:
        raise GasError(f"{folder}: class folders without images: {', '.join(empty)}")
