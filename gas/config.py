"""SearchConfig: everything that defines one search, validated once and saved as config.json.

This model is the one source of truth for a search's settings: each field carries its default,
bounds and help text, and (through `Flag`) how `gas search` spells it. The CLI options
(`gas.commands.config_options`) and the keywords of `gas.search()` (`config_signature`) are derived
from it, so a new option is one field here and no option can be unreachable.
`gas search --resume NAME` reads config.json back, so a resumed run uses exactly the settings it
started with (only `trials` and `address` may change).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from evaluators import DEFAULT_PROXY, EvalContext
from evaluators.named_data import named_dataset_shape
from gas_kernel.budget import parse_budgets
from gas_kernel.errors import GasError
from gas_kernel.objectives import parse_objectives
from search_spaces import DEFAULT_SPACE, space_option_names

__all__ = ["Flag", "SearchConfig", "config_signature", "field_default", "make_config", "option_flag", "options_help"]


@dataclass(frozen=True)
class Flag:
    """How `gas search` spells a config option: `name` (default `--field-name`), `metavar`,
    `repeat` (the flag may be given many times), `keys` (shorthand flags that set one key of a
    dict option each, e.g. `--img-size` for `space_options["img_size"]`), `cli=False` for a field
    the CLI fills in itself."""

    name: str | None = None
    metavar: str | None = None
    repeat: bool = False
    keys: tuple[str, ...] = ()
    cli: bool = True

    @classmethod
    def of(cls, info: FieldInfo) -> Flag:
        """The Flag a field was annotated with, or the default spelling."""
        return next((item for item in info.metadata if isinstance(item, Flag)), cls())


class SearchConfig(BaseModel):
    """Settings of one search (budgets in base units: MACs, parameters, ms, images/s)."""

    model_config = ConfigDict(extra="forbid")

    space: Annotated[str, Flag(metavar="NAME")] = Field(DEFAULT_SPACE, description="search space (`gas cost` prices its presets)")
    space_options: Annotated[
        dict[str, Any], Flag("--space-option", "KEY=VALUE", repeat=True, keys=("img_size", "num_classes"))
    ] = Field(default_factory=dict, description="an option of the space's constructor, e.g. in_chans=1; repeat for more "
        "(the space's defaults otherwise: 224 px and 1000 classes for hiera)")
    budgets: Annotated[dict[str, float], Flag("--budget", "NAME=VALUE", repeat=True)] = Field(
        default_factory=dict, description="hard limit: flops=1G (MACs), params=8M, latency=20ms (batch 1), "
        "throughput=500/s; repeat or comma-separate (none by default)")
    objectives: Annotated[tuple[str, ...], Flag("--objective", "LIST")] = Field(
        ("proxy",), description="proxy, or proxy plus macs|params|latency for a Pareto search, e.g. proxy,macs")
    proxy: Annotated[str | None, Flag(metavar="NAME")] = Field(
        DEFAULT_PROXY, description="accuracy proxy evaluator (a zero-cost proxy, or train)")
    sampler: Literal["tpe", "nsga2", "random"] = Field("tpe", description="Optuna sampler")
    band: float | None = Field(
        0.6, ge=0.0, le=1.0, description="lowest share of the tightest analytic budget a proposal's width aims for (0..1)")
    latency_model: bool = Field(
        True, description="with a latency budget: learn latency from the search's own measurements and skip, "
        "unbuilt, proposals predicted over it by more than the model's held-out error")
    trials: int = Field(50, ge=1, description="evaluations in total; with --resume the new total (default there: as before)")
    seed: int = Field(0, description="seed of the sampler and of every evaluation")
    run: Annotated[str | None, Flag(metavar="NAME")] = Field(
        None, description="run name (default: <space>-<budgets>-<date>-<time>)")
    storage: Annotated[str | None, Flag(metavar="URL")] = Field(
        None, description="Optuna storage URL, or journal:///shared/study.log (default: SQLite in the run dir)")
    address: Annotated[str | None, Flag(metavar="ADDRESS")] = Field(
        None, description="Ray cluster: auto, HOST:PORT or ray://HOST:10001 (default: $RAY_ADDRESS, else an embedded local Ray)")
    cpus_per_trial: float = Field(1.0, gt=0, description="CPUs Ray reserves for a trial (also its torch threads)")
    gpus_per_trial: float = Field(0.0, ge=0, description="GPUs Ray reserves for a trial")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="where trials evaluate (latency, proxies, training): auto = cuda when a trial has "
        "a GPU (--gpus-per-trial > 0), else cpu; config.json records the resolved device")
    concurrency: int | None = Field(None, ge=1, description="trials at once (default: cluster CPUs / --cpus-per-trial)")
    trial_timeout: Annotated[float | None, Flag(metavar="SECONDS")] = Field(
        None, gt=0, description="fail a trial that runs longer (default: no limit)")
    max_retries: int = Field(1, ge=0, description="re-runs of a trial whose worker died, before it counts as failed")
    scheduler: Literal["fifo", "asha"] = Field(
        "fifo", description="asha stops weak training trials early (with --proxy train); fifo runs all")
    epochs: int = Field(1, ge=1, description="training epochs of --proxy train")
    train_images: Annotated[int, Flag(metavar="N")] = Field(
        0, ge=0, description="with --proxy train: train every candidate on the same class-balanced subset of N "
        "training images (validation stays whole; default 0: all of them)")
    prescreen: Annotated[str | None, Flag(metavar="PROXY")] = Field(
        None, description="score this zero-cost proxy first and train only the best (with --proxy train); "
        "predictor or ensemble: a learned predictor, refitted on every candidate the search trains")
    prescreen_keep: float = Field(0.5, gt=0, le=1, description="fraction of candidates the prescreen lets train")
    data: Annotated[str | None, Flag(metavar="PATH")] = Field(
        None, description="ImageFolder root: proxies score a real batch instead of noise, training trains on it")
    batch_size: int | None = Field(EvalContext.batch_size, ge=1, description="batch of the zero-cost proxies (training uses its recipe's)")
    command: Annotated[str | None, Flag(cli=False)] = Field(None, description="the command line that started the run")

    @field_validator("budgets", mode="before")
    @classmethod
    def _parse_budgets(cls, value: Any) -> dict[str, float]:
        return parse_budgets([value] if isinstance(value, str) else value)

    @field_validator("objectives", mode="before")
    @classmethod
    def _parse_objectives(cls, value: Any) -> tuple[str, ...]:
        return parse_objectives(value)

    @model_validator(mode="after")
    def _shape_from_named_data(self) -> SearchConfig:
        """`--data fashion-mnist` (or cifar10:DIR) sets the space's in_chans, img_size and num_classes
        to the dataset's, unless given: the models must take its images. config.json records them."""
        shape = named_dataset_shape(self.data) if self.data is not None else {}
        try:
            accepted = space_option_names(self.space) if shape else set()
        except KeyError:
            return self  # an unknown space is reported, with the known ones, when the search sets up
        self.space_options = {**{k: v for k, v in shape.items() if k in accepted}, **self.space_options}
        return self

    @model_validator(mode="after")
    def _resolve_device(self) -> SearchConfig:
        """auto -> cuda when a trial gets a GPU, else cpu; cuda without a GPU per trial is refused."""
        if self.device == "auto":
            self.device = "cuda" if self.gpus_per_trial > 0 else "cpu"
        elif self.device == "cuda" and self.gpus_per_trial <= 0:
            raise GasError("--device cuda needs --gpus-per-trial > 0: Ray shows a trial a GPU only when it reserves one")
        return self


def make_config(**options: Any) -> SearchConfig:
    """A SearchConfig, turning validation errors into one GasError line naming the CLI flag."""
    try:
        return SearchConfig(**options)
    except ValidationError as error:
        raise GasError("; ".join(_problem(e) for e in error.errors())) from None


def option_flag(field: str) -> str:
    """The `gas search` flag of config field `field` (`cpus_per_trial` -> `--cpus-per-trial`)."""
    flag = Flag.of(SearchConfig.model_fields[field]) if field in SearchConfig.model_fields else Flag()
    return flag.name or "--" + field.replace("_", "-")


def config_signature(explicit: inspect.Signature, model: type[BaseModel] = SearchConfig) -> inspect.Signature:
    """`explicit`'s parameters followed by one keyword-only parameter per field of `model`, with its
    default and type, so `help(gas.search)` and editors show every option the config accepts."""
    fields = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=field_default(info), annotation=info.annotation)
        for name, info in model.model_fields.items()
    ]
    kept = [p for p in explicit.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    return explicit.replace(parameters=[*kept, *fields])


def options_help(model: type[BaseModel] = SearchConfig) -> str:
    """One line per field of `model`: name, default and help (appended to `gas.search`'s docstring)."""
    return "\n".join(f"        {name} = {field_default(info)!r}: {info.description}" for name, info in model.model_fields.items())


def _problem(error: Any) -> str:
    """One validation problem, naming the flag a CLI user typed."""
    field = str(error["loc"][0]) if error["loc"] else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown search option {field!r}"
    if not field:
        return message
    return f"invalid {option_flag(field)} {error.get('input')!r}: {message}"


def field_default(info: FieldInfo) -> Any:
    """A field's default value (a fresh one for a default factory)."""
    return info.default_factory() if info.default_factory is not None else info.default
