"""What one benchmark produces: per-model rows of cost and timing, and the run's conditions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["BenchResult", "BenchRow", "Timing"]


@dataclass(frozen=True)
class Timing:
    """Forward-pass timings of one model at one batch size, pooled over all rounds."""

    batch: int
    median_ms: float
    iqr_ms: float
    images_per_s: float
    images_per_s_iqr: float
    calls: int

    @classmethod
    def from_samples(cls, batch: int, samples_ms: list[float]) -> Timing:
        """Median and IQR of the per-call times, and of the per-call images/s (batch / time)."""
        ms = np.asarray(samples_ms, dtype=float)
        rate = batch * 1000.0 / ms
        q1, median, q3 = np.percentile(ms, [25, 50, 75])
        r1, rate_median, r3 = np.percentile(rate, [25, 50, 75])
        return cls(batch, float(median), float(q3 - q1), float(rate_median), float(r3 - r1), len(ms))


@dataclass(frozen=True)
class BenchRow:
    """One model: size, cost, measured speed and memory, and its published accuracy."""

    name: str
    origin: str
    note: str
    resolution: int
    params: int
    macs: int
    latency: Timing
    throughput: Timing
    peak_memory_mb: float | None
    achieved_gflops_latency: float
    achieved_gflops_throughput: float
    peak_fraction_latency: float
    peak_fraction_throughput: float
    top1: float | None
    top1_source: str

    @property
    def mparams(self) -> float:
        return self.params / 1e6

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9


@dataclass
class BenchResult:
    """All rows of one benchmark run, the models skipped, and the conditions of the run."""

    rows: list[BenchRow]
    unavailable: list[dict[str, str]]
    machine: dict[str, Any]
    device: str
    dtype: str
    threads: int
    matmul_peak_gflops: float
    rounds: int
    seconds: float
    conventions: dict[str, str] = field(default_factory=dict)
    matmul_peak_samples: list[float] = field(default_factory=list)

    def row(self, name: str) -> BenchRow | None:
        return next((row for row in self.rows if row.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for row, raw in zip(self.rows, data["rows"]):
            raw["mparams"], raw["gmacs"] = row.mparams, row.gmacs
        return data
