"""Short-training accuracy: train a blueprint briefly on an in-memory ImageFolder, report val top-1.

Recipe (a sound small-data ViT recipe, kept fixed so candidates are compared on equal terms):
AdamW (lr 1e-3, weight decay 0.05 on weights, none on biases/norms/pos_embed), linear warm-up over
the first 10% of steps then cosine decay to zero, label smoothing 0.1, random crop with 4-pixel
zero padding and horizontal flip. Validation top-1 is reported after every epoch through `report`,
so a scheduler such as Ray Tune's ASHA can stop a poor candidate early; `time_limit_s` stops
training (then evaluates) when the budget runs out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from evaluators.base import EvaluationError
from evaluators.data import ImageData, load_image_folder
from evaluators.threads import thread_count
from gas_kernel.blueprint import Blueprint
from gas_kernel.errors import GasError

__all__ = ["TrainConfig", "TrainResult", "build_model", "check_blueprint_fits", "evaluate_top1", "train_and_evaluate"]


@dataclass(frozen=True)
class TrainConfig:
    """The fixed recipe; change it only for every candidate at once."""

    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_fraction: float = 0.1
    label_smoothing: float = 0.1
    crop_padding: int = 4
    eval_batch_size: int = 256


@dataclass
class TrainResult:
    val_top1: float
    epochs: float  # completed epochs, fractional when a step or time budget cut an epoch short
    steps: int
    train_s: float
    history: list[dict[str, float]] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        return {"val_top1": self.val_top1, "epochs": self.epochs, "train_s": self.train_s}


def build_model(space: Any, blueprint: Blueprint, seed: int = 0) -> nn.Module:
    """The model `space` builds for `blueprint` (`space.build`), with weights initialised from `seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return space.build(blueprint)


def train_and_evaluate(
    model: nn.Module | Blueprint,
    data: str | Path | ImageData,
    *,
    space: Any = None,
    epochs: int = 1,
    max_steps: int | None = None,
    time_limit_s: float | None = None,
    report: Callable[[dict[str, float]], None] | None = None,
    seed: int = 0,
    device: str = "cpu",
    threads: int | None = None,
    config: TrainConfig = TrainConfig(),
) -> TrainResult:
    """Train `model` (or the model `space` builds for a blueprint, from `seed`); return its val top-1."""
    dataset = data if isinstance(data, ImageData) else load_image_folder(data)
    if isinstance(model, Blueprint):
        check_blueprint_fits(model, dataset)
        if space is None:
            raise GasError("training a blueprint needs its search space to build it: pass space=")
        model = build_model(space, model, seed)
    if epochs < 1:
        raise GasError(f"epochs must be at least 1, got {epochs}")
    steps_per_epoch = max(1, len(dataset.train_y) // config.batch_size)
    total_steps = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    with thread_count(threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model.to(device)
        return _train(model, dataset, steps_per_epoch, total_steps, time_limit_s, report, device, config)


def _train(model, dataset, steps_per_epoch, total_steps, time_limit_s, report, device, config) -> TrainResult:
    optimizer = torch.optim.AdamW(_param_groups(model, config.weight_decay), lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(total_steps, config.warmup_fraction))
    start, step, history = time.perf_counter(), 0, []
    out_of_time = False
    while step < total_steps and not out_of_time:
        model.train()
        for index in torch.randperm(len(dataset.train_y)).split(config.batch_size)[:steps_per_epoch]:
            x = dataset.normalize(_augment(dataset.train_x[index], config.crop_padding)).to(device)
            loss = F.cross_entropy(model(x), dataset.train_y[index].to(device), label_smoothing=config.label_smoothing)
            if not torch.isfinite(loss):
                raise EvaluationError(f"training diverged: loss is {float(loss)} at step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            out_of_time = time_limit_s is not None and time.perf_counter() - start > time_limit_s
            if step >= total_steps or out_of_time:
                break
        record = {"epoch": step / steps_per_epoch, "val_top1": evaluate_top1(model, dataset, device, config.eval_batch_size),
                  "train_loss": loss.item(), "train_s": time.perf_counter() - start}
        history.append(record)
        if report is not None:
            report(dict(record))
    last = history[-1]
    return TrainResult(last["val_top1"], last["epoch"], step, time.perf_counter() - start, history)


def evaluate_top1(model: nn.Module, dataset: ImageData, device: str = "cpu", batch_size: int = 256) -> float:
    """Top-1 accuracy on the validation split, in eval mode without gradients."""
    model.eval()
    correct = 0
    with torch.inference_mode():
        for x, y in zip(dataset.val_x.split(batch_size), dataset.val_y.split(batch_size)):
            correct += int((model(dataset.normalize(x).to(device)).argmax(dim=1).cpu() == y).sum())
    return correct / len(dataset.val_y)


def _augment(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Random crop after zero padding, then random horizontal flip, on a uint8 [B, C, H, W] batch."""
    batch, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4)  # [B, C, H+2p, W+2p]
    offsets = torch.randint(0, 2 * padding + 1, (batch, 2))
    crops = torch.stack([padded[i, :, dy : dy + height, dx : dx + width] for i, (dy, dx) in enumerate(offsets.tolist())])
    flip = torch.rand(batch) < 0.5
    crops[flip] = crops[flip].flip(-1)
    return crops


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and kernels only (not biases, norms or position embeddings)."""
    no_decay = set(getattr(model, "no_weight_decay", lambda: set())())
    decay, plain = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (plain if param.ndim <= 1 or name in no_decay else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def _warmup_cosine(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    warmup = max(1, round(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def check_blueprint_fits(blueprint: Blueprint, dataset: ImageData) -> None:
    """GasError when the blueprint's input or output shape does not match the data."""
    if (blueprint.img_size, blueprint.in_chans) != (dataset.img_size, dataset.in_chans):
        raise GasError(
            f"blueprint takes {blueprint.in_chans}x{blueprint.img_size}x{blueprint.img_size} images but "
            f"{dataset.root} holds {dataset.in_chans}x{dataset.img_size}x{dataset.img_size}; "
            f"sample it with img_size={dataset.img_size}"
        )
    if blueprint.num_classes != dataset.num_classes:
        raise GasError(
            f"blueprint has {blueprint.num_classes} classes but {dataset.root} has {dataset.num_classes}; "
            f"sample it with num_classes={dataset.num_classes}"
        )
