"""The analytic price of a blueprint: parameters and multiply-accumulates at batch 1."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Cost"]


@dataclass(frozen=True, slots=True)
class Cost:
    """Analytic cost of a blueprint at its image size, batch 1.

    `macs` counts multiply-accumulates with fvcore's conventions (1 MAC = 1 "flop" in fvcore and
    timm's tables): linear/conv weights, attention q@k and attn@v, and 5 per LayerNorm element.
    """

    params: int
    macs: int

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def mparams(self) -> float:
        return self.params / 1e6
