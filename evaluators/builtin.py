"""The built-in evaluators: analytic params/MACs, measured latency/throughput, proxies, the learned
predictor (evaluators/predictor), training.

Each wraps a library function (`proxy_score`, `measure_latency`, `train_and_evaluate`) so the
search sees one interface; the functions stay usable on their own.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from evaluators.base import EvalContext, Evaluator, Tier
from evaluators.data import load_data, noise_batch, random_batch
from evaluators.latency import measure_latency, measure_throughput
from evaluators.predictor.evaluator import EnsembleEvaluator, PredictorEvaluator
from evaluators.proxies import BASELINES, PROXIES, proxy_score
from evaluators.recipes import get_recipe
from evaluators.registry import register_evaluator
from evaluators.threads import thread_count
from evaluators.training import check_blueprint_fits, train_and_evaluate
from gas_kernel.blueprint import Blueprint
from gas_kernel.errors import GasError

__all__ = ["AnalyticEvaluator", "LatencyEvaluator", "ProxyEvaluator", "ThroughputEvaluator", "TrainEvaluator", "proxy_batch"]


def proxy_batch(blueprint: Any, ctx: EvalContext) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch proxies score: real training images when `ctx.data` is set, else seeded noise."""
    if ctx.data is not None:
        return random_batch(load_data(ctx.data), ctx.batch_size, ctx.seed)
    return noise_batch(blueprint.in_chans, blueprint.img_size, blueprint.num_classes, ctx.batch_size, ctx.seed)


class ProxyEvaluator(Evaluator):
    """One zero-cost proxy, returning `{name: score}`."""

    tier = Tier.PROXY

    def __init__(self, name: str):
        self.name = name
        self.metrics = (name,)

    def evaluate(self, model: nn.Module | None, blueprint: Any, ctx: EvalContext) -> dict[str, float]:
        if model is None:
            raise GasError(f"the {self.name} proxy needs a built model")
        inputs, targets = proxy_batch(blueprint, ctx)
        with thread_count(ctx.threads):
            score = proxy_score(self.name, model.to(ctx.device), inputs, targets, seed=ctx.seed)  # inputs follow the model
        return {self.name: score}


class AnalyticEvaluator(Evaluator):
    """params or MACs: from `ctx.space`'s analytic cost (no model needed), else traced on the model."""

    tier = Tier.ANALYTIC

    def __init__(self, name: str):
        self.name = name
        self.metrics = (name,)

    def evaluate(self, model: nn.Module | None, blueprint: Any, ctx: EvalContext) -> dict[str, float]:
        if ctx.space is not None and isinstance(blueprint, Blueprint):
            cost = ctx.space.cost(blueprint)
            return {self.name: float(cost.params if self.name == "params" else cost.macs)}
        if model is None:
            raise GasError(f"{self.name} needs a built model, or a blueprint and its space (EvalContext.space)")
        inputs, targets = proxy_batch(blueprint, EvalContext(seed=ctx.seed, batch_size=1))
        return {self.name: proxy_score(self.name, model, inputs, targets)}


class LatencyEvaluator(Evaluator):
    """Batch `ctx.latency_batch` (default 1) median forward latency and its IQR, in ms."""

    name = "latency"
    tier = Tier.MEASURED
    metrics = ("latency_ms", "latency_iqr_ms")
    higher_is_better = False

    def evaluate(self, model: nn.Module | None, blueprint: Any, ctx: EvalContext) -> dict[str, float]:
        size = (blueprint.in_chans, blueprint.img_size, blueprint.img_size)
        result = measure_latency(model, size, ctx.latency_batch, ctx.device, ctx.threads)
        return {"latency_ms": result.median_ms, "latency_iqr_ms": result.iqr_ms}


class ThroughputEvaluator(Evaluator):
    """Images per second at batch `ctx.throughput_batch`."""

    name = "throughput"
    tier = Tier.MEASURED
    metrics = ("throughput_per_s",)

    def evaluate(self, model: nn.Module | None, blueprint: Any, ctx: EvalContext) -> dict[str, float]:
        size = (blueprint.in_chans, blueprint.img_size, blueprint.img_size)
        result = measure_throughput(model, size, ctx.throughput_batch, device=ctx.device, threads=ctx.threads)
        return {"throughput_per_s": result.throughput_per_s}


class TrainEvaluator(Evaluator):
    """Short-training validation top-1 on `ctx.data` (reports after every epoch via `ctx.report`)."""

    name = "train"
    tier = Tier.TRAINING
    metrics = ("val_top1", "epochs", "train_s")
    top1_metric = "val_top1"

    def evaluate(self, model: nn.Module | None, blueprint: Any, ctx: EvalContext) -> dict[str, float]:
        if ctx.data is None:
            raise GasError("the train evaluator needs data: pass an ImageFolder root (--data PATH)")
        target = model if model is not None else blueprint
        if model is not None and isinstance(blueprint, Blueprint):
            check_blueprint_fits(blueprint, load_data(ctx.data))
        result = train_and_evaluate(
            target, ctx.data, space=ctx.space, epochs=ctx.epochs, max_steps=ctx.max_steps, time_limit_s=ctx.time_limit_s,
            report=ctx.report, seed=ctx.seed, device=ctx.device, threads=ctx.threads,
            config=get_recipe("short", train_images=ctx.train_images),
        )
        return result.metrics()


def register_builtins() -> None:
    for name in PROXIES:
        register_evaluator(AnalyticEvaluator(name) if name in BASELINES else ProxyEvaluator(name))
    for evaluator in (LatencyEvaluator, ThroughputEvaluator, TrainEvaluator, PredictorEvaluator, EnsembleEvaluator):
        register_evaluator(evaluator)


