"""The export record: what an exported model is, where it came from, and what it costs.

One record drives both files `gas export` writes: the header docstring of `<name>.py` and the
`<name>.json` beside it. The JSON holds the blueprint under the key "blueprint" and the name of
its search space under "space" (records without it are the default space's), so
`gas export file <name>.json` re-exports it, keeping its budgets, metrics and provenance.
Everything is rendered with sorted keys and fixed float formatting: the same record always gives
the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gas_kernel.blueprint import Blueprint
from gas_kernel.cost import Cost
from gas_kernel.errors import GasError, one_line
from search_spaces import DEFAULT_SPACE, SearchSpace, get_space

__all__ = ["FORMAT", "ExportRecord", "record_space"]

FORMAT = "gas-export/1"


@dataclass(frozen=True)
class ExportRecord:
    """Everything said about one exported model besides its code.

    `space` is the search space the blueprint belongs to: its model code is what the file holds.
    `source` says where the blueprint came from, e.g. {"kind": "run", "run": "r1", "trial": 12,
    "pick": "proxy"} or {"kind": "preset", "preset": "turbovit_ref"}; `search_command` is the
    command line of the search that found it (None for presets and files), `export_command` the
    `gas export` invocation that reproduces the files.
    """

    name: str
    blueprint: Blueprint
    space: SearchSpace
    export_command: str
    source: dict[str, Any] = field(default_factory=dict)
    budgets: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    search_command: str | None = None

    @property
    def cost(self) -> Cost:
        return self.space.cost(self.blueprint)

    @property
    def params(self) -> int:
        return self.cost.params

    @property
    def macs(self) -> int:
        return self.cost.macs

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "arch_id": self.blueprint.arch_id,
            "description": self.blueprint.describe(),
            "blueprint": self.blueprint.model_dump(mode="json"),
            "cost": {"params": self.params, "macs": self.macs},
            "budgets": self.budgets,
            "metrics": self.metrics,
            "source": self.source,
            "search_command": self.search_command,
            "export_command": self.export_command,
            "space": self.space.name,
        }

    def to_json(self) -> str:
        """Indented, key-sorted JSON ending in a newline (stable bytes for a stable record)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportRecord:
        """The record a `<name>.json` holds (its derived fields, cost and arch_id, are recomputed)."""
        space = record_space(data)
        return cls(
            name=data["name"],
            blueprint=space.parse(data["blueprint"]),
            space=space,
            export_command=data["export_command"],
            **cls.provenance(data),
        )

    @staticmethod
    def provenance(data: dict[str, Any]) -> dict[str, Any]:
        """The fields of a written record worth carrying into a re-export of its blueprint."""
        keep = ("budgets", "metrics", "source", "search_command")
        return {key: data[key] for key in keep if data.get(key) is not None}


def record_space(data: dict[str, Any], default: str | None = None) -> SearchSpace:
    """The space a written record or blueprint file names under "space" (else `default`, else the
    default space); GasError when no such space is registered."""
    try:
        return get_space(data.get("space") or default or DEFAULT_SPACE)
    except KeyError as error:
        raise GasError(one_line(error)) from None
