"""A search from start to finish: validate, open the run, drive Ray Tune with the generator, report.

(The module is `gas.orchestrate`, not `gas.search`, so that `gas.search` is always the function.)

    gas.search(space="hiera", budgets={"flops": 1e9}, trials=40)     # Python
    gas search --space hiera --budget flops=1G --trials 40           # CLI, same function
    gas search --resume hiera-flops1G-20261121-1830                  # continue after a crash

Everything a user can get wrong (budgets, space, proxy, data folder, run name, storage URL) is
checked before any work, ending in one GasError line. Ray is connected next, before the run
directory is made, so a cluster that cannot be reached, or that has no node with the CPUs or GPUs a
trial asks for, leaves no run behind. The Optuna storage is
the source of truth; a resumed run rebuilds its state from it (see `Generator`).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import shutil
import sys
import warnings
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from evaluators.named_data import is_named_dataset
from gas import runs
from gas.cluster import check_runs_dir_for_job, check_trial_resources
from gas.config import SearchConfig, config_signature, make_config, options_help
from gas.fidelity import Prescreen, TrainedExamples
from gas.generator import (
    MAX_PROPOSALS_PER_ASK,
    Generator,
    evaluated_trials,
    evaluations_in,
    make_sampler,
)
from gas_kernel.budget import Budgets, format_budget
from gas_kernel.errors import GasError, one_line
from gas_kernel.objectives import Objectives

__all__ = ["SearchResult", "resume", "search"]

MAX_TUNE_RESTARTS = 3  # a Tune experiment that dies (Ray's OOM killer) fails its trials and restarts


@dataclass
class SearchResult:
    """What a search leaves: the run directory, the Pareto set, its best-proxy entry, the study."""

    run_dir: Path
    pareto: list[dict[str, Any]]
    best: dict[str, Any] | None
    evaluations: int
    objectives: Objectives
    study: optuna.Study = field(repr=False)

    @property
    def name(self) -> str:
        return self.run_dir.name


def search(*, runs_dir: str | os.PathLike | None = None, progress: bool = True, **options: Any) -> SearchResult:
    """Search a space under budgets and return the run's results (the run is saved in `runs_dir`).

    `options` are the fields of `gas.config.SearchConfig`, the settings `gas search` spells as flags
    (`cpus_per_trial=2` is `--cpus-per-trial 2`); the signature lists each with its default, and an
    unknown or invalid one raises one GasError line. `progress` draws the live bar.

    Options (generated from SearchConfig: name = default: help):
    """
    config = make_config(**options)
    if config.run is not None:
        runs.check_run_name(config.run)
    check_runs_dir_for_job(runs.runs_root(runs_dir))
    setup = _Setup(config)
    name = config.run if config.run is not None else runs.new_run_name(config.space, _budget_tags(config), runs_dir)
    runs.check_new_run(name, runs_dir)
    setup.check_storage(name)
    with setup.ray() as session:  # before the run dir: a cluster that cannot be reached leaves no run behind
        setup.check_resources(session)
        if not setup.budgets.limits:
            print("gas: note: no budget given, so the search is unconstrained (e.g. --budget flops=1G)", file=sys.stderr)
        run_dir = runs.create_run(name, runs_dir)
        try:
            study = setup.open_study(run_dir, create=True)
        except GasError:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        config = config.model_copy(update={"run": name})
        runs.write_config(run_dir, config.model_dump(mode="json"))
        return setup.execute(run_dir, study, session, progress=progress)


def resume(name: str, *, runs_dir: str | os.PathLike | None = None, trials: int | str | None = None,
           address: str | None = None, progress: bool = True) -> SearchResult:
    """Continue run `name` (after a crash or Ctrl-C) up to `trials` evaluations (default: as before)."""
    check_runs_dir_for_job(runs.runs_root(runs_dir))
    run_dir = runs.resolve_run(name, runs_dir)
    stored = runs.load_config(run_dir)
    try:
        config = SearchConfig.model_validate(stored)
    except Exception as error:  # noqa: BLE001 - pydantic ValidationError, or GasError from a validator
        raise GasError(f"{run_dir / runs.CONFIG_FILE} is corrupt ({type(error).__name__}); the run cannot be resumed") from None
    updates = {k: v for k, v in {"trials": trials, "address": address}.items() if v is not None}
    config = make_config(**{**config.model_dump(), **updates})
    setup = _Setup(config)
    study = setup.open_study(run_dir, create=False)
    if evaluations_in(study) >= config.trials:  # nothing left to evaluate: no Ray to start, nothing to save
        return setup.execute(run_dir, study, None, progress=progress)
    with setup.ray() as session:  # before the config is rewritten: an address that cannot be reached is not saved
        setup.check_resources(session)
        if updates:
            runs.write_config(run_dir, config.model_dump(mode="json"))
        return setup.execute(run_dir, study, session, progress=progress)


class _Setup:
    """The validated pieces of a search: space, budgets, evaluators, objectives."""

    def __init__(self, config: SearchConfig):
        from search_spaces import get_space

        self.config = config
        try:
            self.space = get_space(config.space, **config.space_options)
        except (KeyError, TypeError) as error:
            raise GasError(one_line(error)) from None
        self.budgets = Budgets(config.budgets)
        self.budgets.check_reachable(self.space)
        self.evaluators, self.objectives = _resolve_evaluators(config, self.budgets)
        self.budgets = _with_top1_metric(self.budgets, self.evaluators[0])
        self.prescreen = _resolve_prescreen(config)
        if config.data is not None and not (Path(config.data).is_dir() or is_named_dataset(config.data)):
            raise GasError(f"data folder {config.data} does not exist (expected an ImageFolder root, "
                           "fashion-mnist or cifar10:DIR)")
        _check_fidelity(config, self.evaluators[0])

    def ray(self) -> AbstractContextManager[Any]:
        """The Ray session the trials run on (a gas.tune.RaySession), for as long as the block runs."""
        from gas.tune import ray_session

        return ray_session(self.config.address)

    def check_resources(self, session: Any) -> None:
        """GasError when no node of the connected Ray can run one trial (Ray would wait for it forever)."""
        check_trial_resources(session.nodes, self.config.cpus_per_trial, self.config.gpus_per_trial)

    def check_storage(self, name: str) -> None:
        """Open a --storage URL before Ray starts, so a bad URL or a taken study name costs nothing."""
        url = self.config.storage
        if url is None:
            return  # SQLite in the run dir, which does not exist yet
        try:
            taken = name in optuna.get_all_study_names(runs.open_storage(url))
        except Exception as error:  # noqa: BLE001 - SQLAlchemy/URL errors vary by backend
            raise _storage_error(url, error) from None
        if taken:
            raise _taken_error(url, name)

    def open_study(self, run_dir: Path, *, create: bool) -> optuna.Study:
        """The run's Optuna study (SQLite in the run dir unless a storage URL was given)."""
        url = self.config.storage or f"sqlite:///{(run_dir / runs.STUDY_FILE).resolve()}"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = make_sampler(self.config.sampler, seed=self.config.seed)
        try:
            storage = runs.open_storage(url)
            if create:
                study = optuna.create_study(storage=storage, study_name=run_dir.name, sampler=sampler,
                                            directions=self.objectives.directions)
                _name_metrics(study, self.objectives)
                return study
            study = optuna.load_study(storage=storage, study_name=run_dir.name, sampler=sampler)
            # a fresh seed, so a resumed sampler does not replay the proposals it made before
            study.sampler = make_sampler(self.config.sampler, seed=self.config.seed + len(study.trials))
            return study
        except optuna.exceptions.DuplicatedStudyError:
            raise _taken_error(url, run_dir.name) from None
        except KeyError:
            raise GasError(f"run {run_dir.name}: its storage {url} holds no study {run_dir.name!r}; it cannot be resumed") from None
        except Exception as error:  # noqa: BLE001 - SQLAlchemy/URL errors vary by backend
            raise _storage_error(url, error) from None

    def execute(self, run_dir: Path, study: optuna.Study, session: Any, *, progress: bool) -> SearchResult:
        """Run the remaining trials on `session` (a connected gas.tune.RaySession) and finish the run."""
        from gas.progress import SearchProgress

        config = self.config.model_dump(mode="json")
        reporter = SearchProgress(total=self.config.trials, objectives=self.objectives, enabled=progress)
        generator = Generator(space=self.space, budgets=self.budgets, objectives=self.objectives, study=study,
                              band=self.config.band, latency_model=self.config.latency_model,
                              listener=_Listener(run_dir, study, config, self.objectives, reporter))
        reporter.done = generator.evaluations()
        _refresh(run_dir, study, config, self.objectives)
        remaining = self.config.trials - reporter.done
        try:
            if remaining > 0:
                with reporter:
                    self._run_trials(run_dir, generator, remaining, session)
        finally:
            if generator.release_in_flight():
                print(f"gas: search interrupted; continue with `gas search --resume {run_dir.name}`", file=sys.stderr)
        if generator.exhausted:
            print(f"gas: stopped after {generator.evaluations()} of {self.config.trials} evaluations: "
                  f"{MAX_PROPOSALS_PER_ASK} proposals in a row were over a budget (or predicted over the latency "
                  "budget) or already evaluated; loosen the budgets or widen the space", file=sys.stderr)
        return _finish(run_dir, study, config, self.objectives, generator)

    def _run_trials(self, run_dir: Path, generator: Generator, remaining: int, session: Any) -> None:
        from ray import tune

        from gas.fidelity import asha_scheduler
        from gas.latency_slot import start_latency_lock
        from gas.trial import tune_trainable
        from gas.tune import run_tune

        screen = self.prescreen
        trainable = tune.with_parameters(
            tune_trainable, space=self.space, evaluators=self.evaluators + ([screen] if screen else []),
            ctx=self._context(), timeout_s=self.config.trial_timeout,
            prescreen=(screen.metrics[0], screen.higher_is_better) if screen else None)
        session.record(run_dir)
        concurrency = self.config.concurrency or max(1, int(session.cpus // self.config.cpus_per_trial))
        if any(e.name in ("latency", "throughput") for e in self.evaluators):
            start_latency_lock()  # timings one at a time, cluster-wide (gas/latency_slot.py)
        for _ in range(MAX_TUNE_RESTARTS + 1):
            try:
                run_tune(trainable, self._searcher(generator, remaining), evaluations=remaining,
                         concurrency=concurrency, cpus_per_trial=self.config.cpus_per_trial, run_dir=run_dir,
                         gpus_per_trial=self.config.gpus_per_trial, max_retries=self.config.max_retries,
                         scheduler=asha_scheduler(self.config.epochs) if self.config.scheduler == "asha" else None)
                return
            except Exception as error:  # noqa: BLE001 - e.g. Ray's OOM killer ends fit() itself
                generator.fail_in_flight(f"Tune stopped: {one_line(error)[:300]}")
                remaining = self.config.trials - generator.evaluations()
                if remaining <= 0:
                    return
        raise GasError(f"Ray Tune failed {MAX_TUNE_RESTARTS + 1} times; see {run_dir}/trials.jsonl")

    def _searcher(self, generator: Generator, remaining: int) -> Any:
        from gas.tune import GasSearcher

        screen = self.prescreen
        prescreen = Prescreen(self.config.prescreen_keep, screen.higher_is_better) if screen else None
        return GasSearcher(generator, evaluations=remaining, prescreen=prescreen, examples=self._examples(generator))

    def _examples(self, generator: Generator) -> TrainedExamples | None:
        """With a learning screen (the predictor): the candidates trained so far (some, on resume)."""
        if not hasattr(self.prescreen, "learn_examples"):
            return None
        examples = TrainedExamples(self.evaluators[0].metrics[0])
        for trial in evaluated_trials(generator.study):
            examples.observe(trial.user_attrs.get("blueprint"), trial.user_attrs.get("metrics"))
        return examples

    def _context(self) -> Any:
        from evaluators import EvalContext

        options = {"seed": self.config.seed, "device": self.config.device, "data": self.config.data,
                   "threads": max(1, int(self.config.cpus_per_trial)), "epochs": self.config.epochs,
                   "train_images": self.config.train_images}
        if self.config.batch_size:
            options["batch_size"] = self.config.batch_size
        return EvalContext(**options)


class _Listener:
    """Generator listener: progress bar, trials.jsonl, and the Pareto views after each evaluation."""

    def __init__(self, run_dir: Path, study: optuna.Study, config: dict, objectives: Objectives, reporter: Any):
        self.run_dir, self.study, self.config, self.objectives, self.reporter = run_dir, study, config, objectives, reporter

    def __call__(self, status: str, trial: optuna.trial.FrozenTrial) -> None:
        from gas.report import trial_record

        runs.append_trial(self.run_dir, trial_record(trial))
        if status == "evaluated":
            _refresh(self.run_dir, self.study, self.config, self.objectives)
        self.reporter(status, trial)


def _resolve_evaluators(config: SearchConfig, budgets: Budgets) -> tuple[list[Any], Objectives]:
    """The proxy evaluator plus latency/throughput ones the objectives or budgets need."""
    try:
        import evaluators as ev
    except ImportError as error:
        raise GasError(f"the evaluators package is not importable ({error}); reinstall gas") from None
    proxy = ev.get_evaluator(config.proxy or ev.DEFAULT_PROXY)
    if proxy.tier not in (ev.Tier.PROXY, ev.Tier.LEARNED, ev.Tier.TRAINING):
        raise GasError(f"--proxy {proxy.name} is a {proxy.tier.name.lower()} evaluator; pick an accuracy proxy")
    objectives = Objectives(tuple(config.objectives), proxy_key=proxy.metrics[0],
                            proxy_higher_is_better=proxy.higher_is_better)
    chosen = [proxy]
    if objectives.needs_latency or "latency" in budgets.limits:
        chosen.append(ev.get_evaluator("latency"))
    if "throughput" in budgets.limits:
        chosen.append(ev.get_evaluator("throughput"))
    return chosen, objectives


def _with_top1_metric(budgets: Budgets, accuracy: Any) -> Budgets:
    """The budgets, with `top1` read from the accuracy evaluator's estimate of val top-1.

    A top-1 budget needs an evaluator whose score is an accuracy (`top1_metric`, e.g. `val_top1` of
    `--proxy train`); a zero-cost proxy's score is not one, so asking for it is a usage error.
    """
    if "top1" not in budgets.limits:
        return budgets
    if accuracy.top1_metric is None:
        raise GasError(f"--budget top1={budgets.limits['top1']:g} needs an accuracy estimate, which --proxy "
                       f"{accuracy.name} is not: use --proxy train (with --data), predictor or ensemble")
    return dataclasses.replace(budgets, top1_metric=accuracy.top1_metric)


def _resolve_prescreen(config: SearchConfig) -> Any:
    """The zero-cost proxy or learned predictor of `--prescreen`, or None; only worth it before a
    training evaluator."""
    if config.prescreen is None:
        return None
    import evaluators as ev

    screen = ev.get_evaluator(config.prescreen)
    if screen.tier not in (ev.Tier.PROXY, ev.Tier.LEARNED):
        raise GasError(f"--prescreen {screen.name} is a {screen.tier.name.lower()} evaluator; pick a zero-cost proxy "
                       "or a learned predictor (predictor, ensemble)")
    if ev.get_evaluator(config.proxy or ev.DEFAULT_PROXY).tier != ev.Tier.TRAINING:
        raise GasError("--prescreen screens candidates before training: use it with --proxy train")
    return screen


def _check_fidelity(config: SearchConfig, accuracy: Any) -> None:
    """ASHA needs per-epoch reports (the train evaluator), and training needs data."""
    from evaluators import Tier

    if config.scheduler == "asha" and accuracy.tier != Tier.TRAINING:
        raise GasError("--scheduler asha stops training early: use it with --proxy train --epochs E --data PATH")
    if accuracy.name == "train" and config.data is None:
        raise GasError("--proxy train needs data: pass an ImageFolder root with --data PATH")
    if config.train_images:
        if accuracy.name != "train":
            raise GasError("--train-images sets the training subset of --proxy train; this search trains nothing")
        from evaluators.data import balanced_subset, load_data

        balanced_subset(load_data(config.data), config.train_images)  # a subset the data cannot give: one line now


def _refresh(run_dir: Path, study: optuna.Study, config: dict, objectives: Objectives) -> None:
    from gas.report import write_views

    write_views(run_dir, study, config, objectives)


def _finish(run_dir: Path, study: optuna.Study, config: dict, objectives: Objectives,
            generator: Generator) -> SearchResult:
    """Final views (trials.jsonl rebuilt from the storage, plots) and the result object."""
    from gas.plots import write_plots
    from gas.report import write_views

    entries = write_views(run_dir, study, config, objectives, trials_too=True)
    write_plots(run_dir, study, objectives)
    best = objectives.best(entries, lambda entry: entry["metrics"][objectives.primary_key])
    return SearchResult(run_dir=run_dir, pareto=entries, best=best, evaluations=generator.evaluations(),
                        objectives=objectives, study=study)


search.__signature__ = config_signature(inspect.signature(search))  # type: ignore[attr-defined]
search.__doc__ = (search.__doc__ or "").rstrip() + "\n" + options_help() + "\n"


def _name_metrics(study: optuna.Study, objectives: Objectives) -> None:
    """Name the study's values after the metrics (`grad_norm`, `latency_ms`), so optuna-dashboard
    shows those names instead of "Objective 0"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(list(objectives.keys))


def _storage_error(url: str, error: BaseException) -> GasError:
    return GasError(f"cannot open Optuna storage {url!r}: {one_line(error)[:200]}")


def _taken_error(url: str, name: str) -> GasError:
    return GasError(f"storage {url} already holds a study named {name!r}; pick another --run")


def _budget_tags(config: SearchConfig) -> dict[str, str]:
    return {name: format_budget(name, limit) for name, limit in config.budgets.items()}

