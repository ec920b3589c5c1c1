"""Training: a `Trainer` that runs one recipe epoch by epoch, and `train_and_evaluate` on top of it.

The trainer keeps the whole dataset as uint8 tensors on the training device and augments whole
batches at once (`evaluators.augment.crop_flip`), so a small model's epoch is spent in its own
forward and backward, not in Python. Optimizer, schedule, mixup/cutmix and EMA come from timm
(`evaluators.recipes` says which). Validation top-1 and top-5 are measured after every epoch.

Every epoch's randomness (shuffle, augmentation, mixup, drop-path) is seeded from (seed, epoch)
alone, so training resumed from an epoch's checkpoint (`Trainer.state_dict`) continues exactly as
the uninterrupted run would have: no epoch is lost or repeated, and the numbers are the same.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from evaluators.augment import crop_flip
from evaluators.base import EvaluationError
from evaluators.data import ImageData, balanced_subset, load_data
from evaluators.flat_params import (
    flat_optimizer_state,
    flatten_param_groups,
    zero_flat_grads,
)
from evaluators.recipes import TrainConfig
from evaluators.threads import thread_count
from gas_kernel.blueprint import Blueprint
from gas_kernel.errors import GasError

__all__ = ["TrainConfig", "TrainResult", "Trainer", "build_model", "check_blueprint_fits", "evaluate_top1", "top1_hits",
           "train_and_evaluate"]


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


class Trainer:
    """Trains `model` on `data` with `recipe` for `epochs` epochs (or `max_steps` optimizer steps)."""

    def __init__(self, model: nn.Module, data: ImageData, recipe: TrainConfig, epochs: int, *, seed: int = 0,
                 device: str = "cpu", max_steps: int | None = None):
        if epochs < 1:
            raise GasError(f"epochs must be at least 1, got {epochs}")
        data = balanced_subset(data, recipe.train_images) if recipe.train_images else data
        self.model, self.data, self.recipe, self.seed, self.device = model.to(device), data, recipe, seed, device
        self.batch_size = min(recipe.batch_size, len(data.train_y))  # a tiny dataset is one batch
        self.steps_per_epoch = len(data.train_y) // self.batch_size
        self.total_steps = epochs * self.steps_per_epoch if max_steps is None else min(max_steps, epochs * self.steps_per_epoch)
        self.step, self.history = 0, []
        self.optimizer, self.scheduler = _optimizer_and_schedule(model, recipe, self.total_steps)
        self._flat_params = flatten_param_groups(self.optimizer)
        self.mixup = _mixup(recipe, data.num_classes)
        self.ema = _ema(model, recipe)
        self._train_x, self._train_y = data.train_x.to(device), data.train_y.to(device)
        self._mean, self._std = data.mean.to(device).view(1, -1, 1, 1), data.std.to(device).view(1, -1, 1, 1)

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    @property
    def finished(self) -> bool:
        return self.step >= self.total_steps

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 [B, C, H, W] -> float, standardised with the training set's channel statistics."""
        return (images.float().div_(255.0) - self._mean) / self._std  # [B, C, H, W]

    def train_epoch(self, deadline: float | None = None) -> dict[str, float]:
        """One epoch (or what is left of the step budget / until `deadline`), then validation."""
        started, epoch = time.perf_counter(), self.epochs_done
        generator = _seed_everything(self.seed, epoch)
        batches = torch.randperm(len(self._train_y), generator=generator)[: self.steps_per_epoch * self.batch_size]
        losses = []
        self.model.train()
        for index in batches.view(self.steps_per_epoch, self.batch_size).to(self.device):  # [steps, B]
            losses.append(self._train_step(index, generator))
            if self.finished or (deadline is not None and time.perf_counter() > deadline):
                break
        record = {"epoch": self.step / self.steps_per_epoch, "train_loss": float(np.mean(losses)),
                  **self.evaluate(), "epoch_s": time.perf_counter() - started}
        self.history.append(record)
        return record

    def _train_step(self, index: torch.Tensor, generator: torch.Generator) -> float:
        images = crop_flip(self._train_x[index], self.recipe.crop_padding, self.recipe.flip, generator)
        inputs, targets = self.normalize(images), self._train_y[index]
        if self.mixup is not None:
            inputs, targets = self.mixup(inputs, targets)  # soft targets, label smoothing included
        with _autocast(self.device, self.recipe.amp):
            logits = self.model(inputs)
        smoothing = 0.0 if self.mixup is not None else self.recipe.label_smoothing
        loss = F.cross_entropy(logits.float(), targets, label_smoothing=smoothing)
        if not torch.isfinite(loss):
            raise EvaluationError(f"training diverged: loss is {float(loss)} at step {self.step}")
        zero_flat_grads(self._flat_params)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        self.scheduler.step_update(self.step)
        if self.ema is not None:
            self.ema.update(self.model, step=self.step)
        return loss.item()

    def evaluate(self) -> dict[str, float]:
        """Validation top-1 / top-5 of the weights (and of their EMA when the recipe keeps one)."""
        scores = _accuracy(self.model, self.data, self.normalize, self.device, self.recipe)
        result = {"val_top1": scores[0], "val_top5": scores[1]}
        if self.ema is not None:
            ema_scores = _accuracy(self.ema.module, self.data, self.normalize, self.device, self.recipe)
            result.update(val_top1_ema=ema_scores[0], val_top5_ema=ema_scores[1])
        return result

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue after the last finished epoch."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "ema": None if self.ema is None else self.ema.state_dict(),
                "step": self.step, "history": list(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(flat_optimizer_state(state["optimizer"], self.optimizer))
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.step, self.history = int(state["step"]), list(state["history"])


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
    config: TrainConfig | None = None,
) -> TrainResult:
    """Train `model` (or the model of a blueprint, built from `seed`) and return its val top-1.

    `report` gets every epoch's record (a scheduler such as ASHA stops weak candidates on it);
    `time_limit_s` ends training early, after which the model is still evaluated. `config` defaults
    to the `short` recipe.
    """
    config = config or TrainConfig()
    dataset = load_data(data)
    if isinstance(model, Blueprint):
        check_blueprint_fits(model, dataset)
        if space is None:
            raise GasError("training a blueprint needs its search space to build it: pass space=")
        model = build_model(space, model, seed)
    with thread_count(threads), torch.random.fork_rng(devices=[]):
        trainer = Trainer(model, dataset, config, epochs, seed=seed, device=device, max_steps=max_steps)
        start = time.perf_counter()
        deadline = None if time_limit_s is None else start + time_limit_s
        while True:  # at least one step, however short the time limit
            record = dict(trainer.train_epoch(deadline), train_s=time.perf_counter() - start)
            trainer.history[-1] = record
            if report is not None:
                report(dict(record))
            if trainer.finished or (deadline is not None and time.perf_counter() > deadline):
                break
    last = trainer.history[-1]
    return TrainResult(last["val_top1"], last["epoch"], trainer.step, time.perf_counter() - start, trainer.history)


def evaluate_top1(model: nn.Module, dataset: ImageData, device: str = "cpu", batch_size: int = 512) -> float:
    """Top-1 accuracy on the validation split, in eval mode without gradients."""
    recipe = TrainConfig(eval_batch_size=batch_size, amp=False)
    return _accuracy(model.to(device), dataset, dataset.normalize, device, recipe)[0]


def top1_hits(model: nn.Module, dataset: ImageData, device: str = "cpu", batch_size: int = 512) -> torch.Tensor:
    """Whether each validation image's top-1 class is right, [val images] bool, in eval mode: what a
    paired comparison of two models on the same images needs (its mean is `evaluate_top1`)."""
    was_training, hits = model.training, []
    model.to(device).eval()
    with torch.inference_mode():
        for x, y in zip(dataset.val_x.split(batch_size), dataset.val_y.split(batch_size)):
            top = model(dataset.normalize(x.to(device))).topk(1, dim=1).indices[:, 0].cpu()  # [B]
            hits.append(top == y)
    model.train(was_training)
    return torch.cat(hits)


def _accuracy(model: nn.Module, dataset: ImageData, normalize: Callable, device: str,
              recipe: TrainConfig) -> tuple[float, float]:
    """(top-1, top-k) on the validation split, k = min(5, classes); restores the model's mode."""
    was_training, k = model.training, min(5, dataset.num_classes)
    model.eval()
    top1 = topk = 0
    with torch.inference_mode(), _autocast(device, recipe.amp):
        for x, y in zip(dataset.val_x.split(recipe.eval_batch_size), dataset.val_y.split(recipe.eval_batch_size)):
            ranked = model(normalize(x.to(device))).topk(k, dim=1).indices.cpu()  # [B, k]
            hits = ranked == y[:, None]
            top1, topk = top1 + int(hits[:, 0].sum()), topk + int(hits.any(dim=1).sum())
    model.train(was_training)
    return top1 / len(dataset.val_y), topk / len(dataset.val_y)


def _optimizer_and_schedule(model: nn.Module, recipe: TrainConfig, total_steps: int):
    """timm's optimizer (no weight decay on biases, norms, `no_weight_decay()`) and step-wise warm-up + cosine.

    `foreach=True`: torch only defaults to its multi-tensor step on CUDA (on CPU it gives the same
    numbers); the Trainer then flattens each group (`evaluators.flat_params`) so the step is a few
    long vector operations instead of a few per parameter tensor.
    """
    from timm.optim import create_optimizer_v2
    from timm.scheduler import CosineLRScheduler

    optimizer = create_optimizer_v2(model, opt=recipe.opt, lr=recipe.lr, weight_decay=recipe.weight_decay,
                                    foreach=True)
    warmup = max(1, round(total_steps * recipe.warmup_fraction))
    schedule = CosineLRScheduler(
        optimizer, t_initial=max(1, total_steps - warmup), lr_min=recipe.lr * recipe.min_lr_ratio, warmup_t=warmup,
        warmup_lr_init=recipe.lr / warmup, warmup_prefix=True, t_in_epochs=False,
    )
    return optimizer, schedule


def _mixup(recipe: TrainConfig, num_classes: int):
    if not (recipe.mixup or recipe.cutmix):
        return None
    from timm.data import Mixup

    return Mixup(mixup_alpha=recipe.mixup, cutmix_alpha=recipe.cutmix, label_smoothing=recipe.label_smoothing,
                 num_classes=num_classes)


def _ema(model: nn.Module, recipe: TrainConfig):
    if not recipe.ema_decay:
        return None
    from timm.utils import ModelEmaV3

    return ModelEmaV3(model, decay=recipe.ema_decay)


def _seed_everything(seed: int, epoch: int) -> torch.Generator:
    """Seed torch, numpy (timm's mixup) and random from (seed, epoch); return the epoch's data generator."""
    epoch_seed = (seed * 1_000_003 + epoch) % (2**31)
    torch.manual_seed(epoch_seed)
    np.random.seed(epoch_seed)
    random.seed(epoch_seed)
    return torch.Generator().manual_seed(epoch_seed)


def _autocast(device: str, enabled: bool):
    """bfloat16 autocast on CUDA when the recipe allows it; nothing on CPU (fp32 there is faster)."""
    if enabled and str(device).startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def check_blueprint_fits(blueprint: Blueprint, dataset: ImageData) -> None:
    """GasError when the blueprint's input or output shape does not match the data."""
    if (blueprint.img_size, blueprint.in_chans) != (dataset.img_size, dataset.in_chans):
        raise GasError(
            f"blueprint takes {blueprint.in_chans}x{blueprint.img_size}x{blueprint.img_size} images but "
            f"{dataset.root} holds {dataset.in_chans}x{dataset.img_size}x{dataset.img_size}; "
            f"sample it with img_size={dataset.img_size}, in_chans={dataset.in_chans}"
        )
    if blueprint.num_classes != dataset.num_classes:
        raise GasError(
            f"blueprint has {blueprint.num_classes} classes but {dataset.root} has {dataset.num_classes}; "
            f"sample it with num_classes={dataset.num_classes}"
        )

