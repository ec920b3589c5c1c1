"""The cheap signals the predictor reads, measured one way for fitting and for every candidate.

A proxy's value depends on the batch, the seed and the model's initial weights, so the reference
rows' cached signals (`benchmarks/results/ground_truth_features.jsonl`) and a search candidate's
are measured by this one function under one `SignalProtocol`: every zero-cost proxy of
`evaluators.proxies` plus the params and MACs baselines, on a seeded batch of `batch_size` images of
the data (`"noise"`: a seeded Gaussian batch with random labels, as the proxy evaluators use without
data), the model initialised with `torch.manual_seed(seed)` as a search trial builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from evaluators.base import EvalContext, EvaluationError
from evaluators.proxies import list_proxies, proxy_score

__all__ = ["NOISE", "SignalProtocol", "measure_signals"]

NOISE = "noise"


@dataclass(frozen=True)
class SignalProtocol:
    """How the signals are measured; the feature cache records it and fitting checks it matches."""

    batch_size: int = 64
    seed: int = 0
    proxies: tuple[str, ...] = field(default_factory=lambda: tuple(list_proxies()))


def measure_signals(model: nn.Module, blueprint: Any, data: str | None, protocol: SignalProtocol,
                    device: str = "cpu") -> dict[str, float | None]:
    """Every proxy of `protocol` on `model` (None for one that failed: NaN, inf or a runtime error).

    `data` is a dataset spec (`fashion-mnist`, an ImageFolder root) or None for seeded noise.
    """
    from evaluators.builtin import proxy_batch

    context = EvalContext(seed=protocol.seed, batch_size=protocol.batch_size, data=data)
    inputs, targets = proxy_batch(blueprint, context)
    signals: dict[str, float | None] = {}
    for name in protocol.proxies:
        try:
            signals[name] = proxy_score(name, model, inputs.to(device), targets.to(device), seed=protocol.seed)
        except EvaluationError:
            signals[name] = None
    return signals
