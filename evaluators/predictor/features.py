"""What the accuracy predictor sees of a candidate: numbers from its blueprint plus its cheap signals.

The encoding is space-independent: any blueprint that dumps to a dict (a pydantic model or a plain
mapping such as an AutoFormer arch) is flattened to `{name: float}`. Numbers and booleans keep their
dotted path (`stages.2.dim`, `patch_stride`), every list also gives its length (`stages.count`) and,
per field, its sum, mean, min and max over the items (`stages.depth.sum`), so a network with fewer
stages or layers is padded by absence (a missing column reads 0). Blueprints are read as their JSON
dicts, exactly as the reference set stores them, so a candidate and a reference row always have the
same columns (evaluators never import the spaces, so no space-specific geometry is derived here).
Cheap signals (zero-cost proxies, params, MACs, optionally the first-epoch val top-1) join under
`signal.<name>`; a signal that failed is NaN, which the predictor fills with the training median.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["SIGNAL_PREFIX", "candidate_features", "encode_blueprint"]

SIGNAL_PREFIX = "signal."


def encode_blueprint(blueprint: Any) -> dict[str, float]:
    """The blueprint's numbers as `{dotted name: float}` (strings and None carry no number: left out)."""
    data = blueprint.model_dump(mode="json") if hasattr(blueprint, "model_dump") else blueprint
    if not isinstance(data, Mapping):
        raise TypeError(f"a blueprint must be a mapping or a pydantic model, got {type(blueprint).__name__}")
    features: dict[str, float] = {}
    _flatten("", data, features)
    return features


def candidate_features(blueprint: Any, signals: Mapping[str, float | None]) -> dict[str, float]:
    """The predictor's input row: the blueprint's encoding plus `signal.<name>` for every signal."""
    features = encode_blueprint(blueprint)
    for name, value in signals.items():
        features[SIGNAL_PREFIX + name] = math.nan if value is None else float(value)
    return features


def _flatten(prefix: str, value: Any, out: dict[str, float]) -> None:
    """Numbers and booleans under their dotted path; mappings recurse; lists also aggregate."""
    if isinstance(value, bool | int | float):
        out[prefix] = float(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, list | tuple):
        out[f"{prefix}.count"] = float(len(value))
        for index, item in enumerate(value):
            _flatten(f"{prefix}.{index}", item, out)
        _aggregate(prefix, value, out)


def _aggregate(prefix: str, items: list[Any] | tuple[Any, ...], out: dict[str, float]) -> None:
    """Sum, mean, min and max of every numeric field over the items of a list (order-free summaries)."""
    columns: dict[str, list[float]] = {}
    for item in items:
        flat: dict[str, float] = {}
        _flatten("", item, flat)
        for key, number in flat.items():
            columns.setdefault(key, []).append(number)
    for key, numbers in columns.items():
        name = f"{prefix}.{key}" if key else prefix
        out[f"{name}.sum"], out[f"{name}.mean"] = sum(numbers), sum(numbers) / len(numbers)
        out[f"{name}.min"], out[f"{name}.max"] = min(numbers), max(numbers)
