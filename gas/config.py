"""SearchConfig: everything that defines one search, validated once and saved as config.json.

The CLI and the Python API both build a SearchConfig; `gas search --resume NAME` reads it back, so a
resumed run uses exactly the settings it started with (only `trials` may grow).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gas_kernel.budget import parse_budgets
from gas_kernel.errors import GasError
from gas_kernel.objectives import parse_objectives
from search_spaces import DEFAULT_SPACE

__all__ = ["SearchConfig", "make_config"]


class SearchConfig(BaseModel):
    """Settings of one search (budgets in base units: MACs, parameters, ms, images/s)."""

    model_config = ConfigDict(extra="forbid")

    space: str = DEFAULT_SPACE
    space_options: dict[str, Any] = Field(default_factory=dict, description="e.g. img_size, num_classes")
    budgets: dict[str, float] = Field(default_factory=dict)
    objectives: tuple[str, ...] = ("proxy",)
    proxy: str | None = Field(default=None, description="proxy evaluator; None = evaluators.DEFAULT_PROXY")
    sampler: Literal["tpe", "nsga2", "random"] = "tpe"
    band: float | None = Field(default=0.6, ge=0.0, le=1.0, description="lowest budget use of a proposal's width")
    trials: int = Field(default=50, ge=1, description="evaluations in total (a resume may raise it)")
    seed: int = 0
    run: str | None = None
    storage: str | None = Field(default=None, description="Optuna storage URL; default sqlite in the run dir")
    address: str | None = Field(default=None, description="Ray cluster address; default: embedded local Ray")
    cpus_per_trial: float = Field(default=1.0, gt=0)
    gpus_per_trial: float = Field(default=0.0, ge=0)
    concurrency: int | None = Field(default=None, ge=1)
    trial_timeout: float | None = Field(default=None, gt=0, description="seconds before a trial is failed")
    max_retries: int = Field(default=1, ge=0, description="re-runs of a trial whose worker died, then failed")
    scheduler: Literal["fifo", "asha"] = Field(default="fifo", description="asha: stop weak training trials early")
    epochs: int = Field(default=1, ge=1, description="training epochs of the train evaluator (--proxy train)")
    prescreen: str | None = Field(default=None, description="zero-cost proxy scored before training")
    prescreen_keep: float = Field(default=0.5, gt=0, le=1, description="fraction of candidates the prescreen trains")
    data: str | None = None
    batch_size: int | None = Field(default=None, ge=1)
    device: str = "cpu"
    command: str | None = None

    @field_validator("budgets", mode="before")
    @classmethod
    def _parse_budgets(cls, value: Any) -> dict[str, float]:
        return parse_budgets([value] if isinstance(value, str) else value)

    @field_validator("objectives", mode="before")
    @classmethod
    def _parse_objectives(cls, value: Any) -> tuple[str, ...]:
        return parse_objectives(value)


def make_config(**options: Any) -> SearchConfig:
    """A SearchConfig, turning validation errors into one GasError line naming the option."""
    try:
        return SearchConfig(**options)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'option'}: {e['msg']}" for e in error.errors()
        )
        raise GasError(f"invalid search option {problems}") from None
