"""The export record: what an exported model is, where it came from, and what it costs.

One record drives both files `gas export` writes: the header docstring of `<name>.py` and the
`<name>.json` beside it. The JSON holds the blueprint under the key "blueprint", so
`gas export file <name>.json` re-exports it, keeping its budgets, metrics and provenance.
Everything is rendered with sorted keys and fixed float formatting: the same record always gives
the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gas_kernel.blueprint import Blueprint
from search_spaces.hiera.cost import hiera_cost

__all__ = ["FORMAT", "ExportRecord"]

FORMAT = "gas-export/1"


@dataclass(frozen=True)
class ExportRecord:
    """Everything said about one exported model besides its code.

    `source` says where the blueprint came from, e.g. {"kind": "run", "run": "r1", "trial": 12,
    "pick": "proxy"} or {"kind": "preset", "preset": "turbovit_ref"}; `search_command` is the
    command line of the search that found it (None for presets and files), `export_command` the
    `gas export` invocation that reproduces the files.
    """

    name: str
    blueprint: Blueprint
    export_command: str
    source: dict[str, Any] = field(default_factory=dict)
    budgets: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    search_command: str | None = None

    @property
    def params(self) -> int:
        return hiera_cost(self.blueprint).params

    @property
    def macs(self) -> int:
        return hiera_cost(self.blueprint).macs

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
        }

    def to_json(self) -> str:
        """Indented, key-sorted JSON ending in a newline (stable bytes for a stable record)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportRecord:
        """The record a `<name>.json` holds (its derived fields, cost and arch_id, are recomputed)."""
        return cls(
            name=data["name"],
            blueprint=Blueprint.model_validate(data["blueprint"]),
            export_command=data["export_command"],
            **cls.provenance(data),
        )

    @staticmethod
    def provenance(data: dict[str, Any]) -> dict[str, Any]:
        """The fields of a written record worth carrying into a re-export of its blueprint."""
        keep = ("budgets", "metrics", "source", "search_command")
        return {key: data[key] for key in keep if data.get(key) is not None}
