"""The trained reference set as the predictor's training table, with the cached signals of its rows.

`benchmarks/results/ground_truth.jsonl` (one line per finished reference training, written by
`benchmarks/ground_truth.py`) gives each row's blueprint and val top-1; the signals of its blueprints
were measured once by `python benchmarks/predictor.py --features` into
`benchmarks/results/ground_truth_features.jsonl` (one line per blueprint and data, keyed by arch_id),
so fitting takes a second, not a proxy pass over every reference network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.jsonl import read_jsonl
from evaluators.predictor.features import candidate_features
from evaluators.predictor.signals import SignalProtocol
from gas_kernel.errors import GasError

__all__ = ["FEATURES_FILE", "REFERENCE_DATA", "REFERENCE_FILE", "ReferenceTable", "load_reference_table",
           "shipped_results"]

REFERENCE_FILE, FEATURES_FILE = "ground_truth.jsonl", "ground_truth_features.jsonl"
REFERENCE_DATA = "fashion-mnist"  # what the reference set was trained on: its signals with data use it
FIRST_EPOCH = "epoch1_top1"
INSTALL_HINT = ("a gas installed without its benchmarks/results folder: run from a gas checkout, "
                "or pass the file to the predictor")


@dataclass(frozen=True)
class ReferenceTable:
    """Feature rows, val top-1 targets and groups (arch_id) of the reference trainings."""

    rows: list[dict[str, float]]
    targets: list[float]
    groups: list[str]
    records: list[dict[str, Any]]


def shipped_results() -> Path:
    """The checked-in `benchmarks/results` folder next to the installed packages."""
    return Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def load_reference_table(reference: Path, features: Path, data: str, protocol: SignalProtocol,
                         first_epoch: bool = False) -> ReferenceTable:
    """One row per reference training: blueprint encoding + its blueprint's cached signals on `data`.

    `first_epoch` adds each training's first-epoch val top-1 as the signal `epoch1_top1`.
    """
    records = read_jsonl(reference, "the predictor's reference set", INSTALL_HINT)
    signals = _cached_signals(read_jsonl(features, "the predictor's feature cache", INSTALL_HINT), data, protocol)
    missing = sorted({r["arch_id"] for r in records} - set(signals))
    if missing:
        raise GasError(f"the feature cache {features} lacks {len(missing)} reference blueprints on {data} "
                       f"(e.g. {missing[0]}): run `python benchmarks/predictor.py --features`")
    rows = []
    for record in records:
        extra = {FIRST_EPOCH: record["val_top1"][0]} if first_epoch else {}
        rows.append(candidate_features(record["blueprint"],
                                       {**signals[record["arch_id"]], **extra}))
    return ReferenceTable(rows, [float(r["final_val_top1"]) for r in records], [r["arch_id"] for r in records],
                          records)


def _cached_signals(lines: Sequence[dict[str, Any]], data: str, protocol: SignalProtocol) -> dict[str, dict]:
    """arch_id -> signals of the cache lines measured on `data` under `protocol` (GasError if none match)."""
    chosen = [line for line in lines if line["data"] == data]
    stale = [line for line in chosen if (line["batch_size"], line["seed"]) != (protocol.batch_size, protocol.seed)
             or set(line["signals"]) != set(protocol.proxies)]
    if stale:
        raise GasError(f"the feature cache was measured under another protocol than {protocol}: "
                       "rerun `python benchmarks/predictor.py --features`")
    return {line["arch_id"]: line["signals"] for line in chosen}
