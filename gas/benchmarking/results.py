"""What one benchmark produces: per-model rows of cost and timing, and the run's conditions.

Timings are `evaluators.LatencyResult`s, the type a single `measure_latency` returns, pooled over rounds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evaluators.latency import LatencyResult

__all__ = ["BenchResult", "BenchRow"]


@dataclass(frozen=True)
class BenchRow:
    """One model: size, cost, measured speed and memory, and its published accuracy."""

    name: str
    origin: str
    note: str
    resolution: int
    params: int
    macs: int
    latency: LatencyResult  # pooled over the interleaved rounds
    throughput: LatencyResult
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
