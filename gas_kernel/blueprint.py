"""The blueprint contract: what every space's blueprint is, whatever network it describes.

A blueprint is frozen pydantic data that says everything needed to build one network and nothing
else. It validates itself when made, round-trips exactly through JSON, and hashes to a stable
`arch_id`, so a search can cache, store and compare candidates without building them.

Each space subclasses `Blueprint` with its own fields (`search_spaces/hiera/blueprint.py`) and says
how the fields become its model's constructor arguments (`model_kwargs`) and a one-line summary
(`describe`). The fields every image classifier has (input size, channels, classes) live here, so
evaluators and exports can read them from any blueprint.
"""

from __future__ import annotations

import abc
import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Blueprint"]


class Blueprint(BaseModel):
    """A network for `img_size` x `img_size` images with `in_chans` channels and `num_classes` outputs.

    Subclasses add their fields and implement `model_kwargs` and `describe`; the model they
    describe is `Model(**blueprint.model_kwargs())` for the space's model class.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    img_size: int = Field(default=224, ge=8, le=4096, description="input height = width in pixels")
    in_chans: int = Field(default=3, ge=1, le=64)
    num_classes: int = Field(default=1000, ge=0, description="0 gives a model without classifier")

    @abc.abstractmethod
    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the space's model constructor, as plain Python literals."""

    @abc.abstractmethod
    def describe(self) -> str:
        """One line a person can read, for tables and export headers."""

    def canonical_json(self) -> str:
        """Sorted-key, whitespace-free JSON: equal blueprints give equal strings."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @property
    def arch_id(self) -> str:
        """Stable 12-hex-digit id: sha256 of the canonical JSON."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:12]
