"""The generator: an Optuna study that proposes blueprints and learns from every result.

`ask()` hands out the next blueprint worth evaluating and `tell()` feeds its metrics back. Between
the two, everything that needs no evaluation is settled on the spot, in the study, so the sampler
learns from it and nothing wasteful is sent to Ray:

* budget-aware width: the space's structure is sampled first, then a `width_frac` in [0, 1] picks a
  width scale among those whose analytic cost lands in [band, 1] of the tightest analytic budget
  (the largest feasible width when none does), so proposals use the budget instead of wandering
  far below it (with MACs or params as an objective the band opens to [0, 1]: the front wants
  small models too);
* infeasible proposals (over an analytic budget even at the smallest width, or below the band even
  at the largest) are told PRUNED with `trial.set_constraint(...)` values > 0, which TPE and
  NSGA-II treat as infeasible;
* with a latency budget, a latency model (`evaluators.latency_model`) learns from every measured
  latency of the search; from the first timing on, the width is placed among those predicted
  within the latency budget (steering proposals under it; by the model's own error, the 90th
  percentile of its held-out misses, once that is known, a few timings in), and once every rate has
  been checked a proposal still predicted over the budget (no width of its structure fits; without
  width steering: over by more than that error) is rejected unbuilt (constraint `latency_predicted`);
  what is built is still timed, and the measurement still decides;
* duplicates (an arch_id already evaluated, or being evaluated) are answered from the cache, which
  is rebuilt from the storage on resume; trials left RUNNING by a dead driver become FAIL and their
  parameters are enqueued again, so no completed trial is lost or re-run.

Every trial carries user attributes a person can read back: `gas_status`, `arch_id`, `blueprint`,
`macs`, `params`, `budget_use`, `metrics`, `error`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from evaluators.latency_model import LatencyModel
from gas_kernel.blueprint import Blueprint
from gas_kernel.budget import BUDGET_METRICS, Budgets
from gas_kernel.cost import Cost
from gas_kernel.errors import GasError
from gas_kernel.objectives import Objectives
from search_spaces import SearchSpace

__all__ = ["SAMPLERS", "Generator", "Proposal", "Status", "evaluated_trials", "evaluations_in", "make_sampler"]

SAMPLERS = ("tpe", "nsga2", "random")
MAX_PROPOSALS_PER_ASK = 2000
LATENCY_BUDGET = "latency"  # the batch-1 latency budget, the one the latency model predicts
LATENCY_METRIC = BUDGET_METRICS[LATENCY_BUDGET][0]


class Status:
    """Values of the `gas_status` user attribute; the first four were evaluated on a worker."""

    EVALUATED = "evaluated"
    FAILED = "failed"
    OVER_BUDGET = "over_budget"  # evaluated, but over a measured budget (latency, throughput)
    SCREENED = "screened"  # scored by the cheap prescreen only, which kept it from training
    INFEASIBLE = "infeasible"  # over an analytic budget, or predicted over the latency one: never built
    DUPLICATE = "duplicate"  # answered from the cache
    INTERRUPTED = "interrupted"  # RUNNING when its driver died; re-asked on resume

    EVALUATIONS = (EVALUATED, FAILED, OVER_BUDGET, SCREENED)


@dataclass(frozen=True)
class Proposal:
    """A blueprint to evaluate, tied to the Optuna trial whose result it becomes."""

    number: int
    blueprint: Blueprint
    cost: Cost
    trial: optuna.Trial = field(repr=False, compare=False)


def make_sampler(name: str, *, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """TPE (default; multivariate, grouped for the conditional space, constant liar for parallel
    trials), NSGA-II or uniform random."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            return optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=10, multivariate=True, group=True, constant_liar=True
            )
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
    raise GasError(f"unknown sampler {name!r}; use one of {', '.join(SAMPLERS)}")


class Generator:
    """Ask/tell over an Optuna study, with budgets, duplicate cache and resume built in."""

    def __init__(
        self,
        *,
        space: SearchSpace,
        budgets: Budgets,
        objectives: Objectives,
        study: optuna.Study,
        band: float | None,
        listener: Callable[[str, FrozenTrial], None] | None = None,
        latency_model: bool = True,
    ):
        self.space, self.budgets, self.objectives, self.study = space, budgets, objectives, study
        # With MACs or params as an objective the whole Pareto front is wanted, small models too:
        # widths still never exceed the budget, but any fraction of it may be used.
        self.band = 0.0 if band is not None and objectives.trades_analytic_cost else band
        self.listener = listener
        self._cache: dict[str, FrozenTrial] = {}
        self._in_flight: dict[str, Proposal] = {}
        self._waiting: dict[str, list[optuna.Trial]] = {}
        self._latency = LatencyModel() if latency_model and LATENCY_BUDGET in budgets.limits else None
        self.exhausted = False  # set when ask() found nothing worth evaluating
        self._recover()

    # ---- public API ---------------------------------------------------------------------------
    def ask(self) -> Proposal | None:
        """The next novel, feasible blueprint; None if the space seems exhausted."""
        for _ in range(MAX_PROPOSALS_PER_ASK):
            trial = self.study.ask()
            blueprint = self._propose(trial)
            cost = self.space.cost(blueprint)
            self._describe(trial, blueprint, cost)
            violations = self._violations(cost)
            if not any(v > 0 for v in violations.values()):
                violations.update(self._predicted_violations(trial, blueprint))
            arch_id = blueprint.arch_id
            if any(v > 0 for v in violations.values()):
                self._finish(trial, Status.INFEASIBLE, TrialState.PRUNED, constraints=violations)
            elif arch_id in self._cache:
                self._answer_from_cache(trial, self._cache[arch_id])
            elif arch_id in self._in_flight:
                self._waiting.setdefault(arch_id, []).append(trial)
            else:
                proposal = Proposal(trial.number, blueprint, cost, trial)
                self._in_flight[arch_id] = proposal
                return proposal
        self.exhausted = True
        return None

    def tell(self, proposal: Proposal, metrics: Mapping[str, float]) -> FrozenTrial:
        """Record a finished evaluation; NaN objectives or a broken measured budget are handled."""
        metrics = {**_as_floats(metrics), "macs": float(proposal.cost.macs), "params": float(proposal.cost.params)}
        try:
            values = self.objectives.values(metrics)
        except KeyError as error:
            return self.tell_failed(proposal, str(error.args[0]))
        if not all(math.isfinite(v) for v in values):
            return self.tell_failed(proposal, f"non-finite objective values {values}")
        constraints = {**self._violations(proposal.cost), **self.budgets.measured_violations(metrics)}
        proposal.trial.set_user_attr("metrics", metrics)
        self._learn_latency(proposal.blueprint, metrics)
        if any(v > 0 for v in constraints.values()):
            frozen = self._finish(proposal.trial, Status.OVER_BUDGET, TrialState.PRUNED, constraints=constraints)
        else:
            frozen = self._finish(proposal.trial, Status.EVALUATED, TrialState.COMPLETE, values, constraints)
        return self._settle(proposal, frozen)

    def tell_failed(self, proposal: Proposal, reason: str) -> FrozenTrial:
        """Record an evaluation that raised, returned NaN or timed out; the search goes on."""
        proposal.trial.set_user_attr("error", reason[:2000])
        frozen = self._finish(proposal.trial, Status.FAILED, TrialState.FAIL)
        return self._settle(proposal, frozen)

    def tell_screened(self, proposal: Proposal, reason: str, metrics: Mapping[str, float]) -> FrozenTrial:
        """Record a candidate the prescreen stopped before training, with the cheap metrics it has.

        Not a failure, but told to the sampler as one (FAIL): it has no value of the objective,
        and a sampler that took it for a finished trial would learn from a number it never saw."""
        proposal.trial.set_user_attr("screened", reason[:2000])
        proposal.trial.set_user_attr("metrics", _as_floats(metrics))
        frozen = self._finish(proposal.trial, Status.SCREENED, TrialState.FAIL)
        return self._settle(proposal, frozen)

    def fail_in_flight(self, reason: str) -> int:
        """Fail every unfinished evaluation (its worker or the scheduler died); returns how many."""
        proposals = list(self._in_flight.values())
        for proposal in proposals:
            self.tell_failed(proposal, reason)
        return len(proposals)

    def release_in_flight(self) -> int:
        """After an interrupted run: fail the unfinished trials and enqueue them again (as a resume
        of a dead driver would), so the storage holds no RUNNING trial. Returns how many."""
        waiting = [trial for trials in self._waiting.values() for trial in trials]
        for trial in waiting:
            trial.set_user_attr("gas_status", Status.INTERRUPTED)
            self.study.tell(trial, state=TrialState.FAIL)
        proposals = list(self._in_flight.values())
        for proposal in proposals:
            self._requeue(proposal.trial)
        self._in_flight.clear()
        self._waiting.clear()
        return len(proposals)

    def evaluations(self) -> int:
        """Candidates evaluated so far (finished on a worker: complete, failed or over budget)."""
        return evaluations_in(self.study)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    # ---- proposing ----------------------------------------------------------------------------
    def _propose(self, trial: optuna.Trial) -> Blueprint:
        widths = self.space.width_choices()
        if not self._band_active():
            return self.space.sample(trial)
        structure = self.space.sample_structure(trial)
        frac = trial.suggest_float("width_frac", 0.0, 1.0)
        return self.space.with_width(structure, self._place_width(structure, list(widths), frac))

    def _violations(self, cost: Cost) -> dict[str, float]:
        """Analytic budget excess, plus `budget_use` > 0 when the band is on and no width of the
        structure reaches it: such a structure cannot use the budget and is not worth evaluating."""
        violations = self.budgets.analytic_violations(cost)
        if self._band_active():
            violations["budget_use"] = self.band - self.budgets.usage(cost)
        return violations

    def _predicted_violations(self, trial: optuna.Trial, blueprint: Blueprint) -> dict[str, float]:
        """`latency_predicted` > 0 when the ready latency model rules the proposal out unbuilt.

        A proposal whose width was chosen (the band on) sits at a width predicted within the limit
        whenever its structure has one (`_under_latency`); predicted over the limit, the structure
        has none, and like a structure that cannot reach the band it is not worth a measurement:
        of such proposals measured anyway, 14 of 19 were over the budget
        (benchmarks/results/latency_model.md at 12bbadd). Without the band, a proposal is ruled out
        when predicted over the limit by more than the model's own error.

        Every prediction is recorded (`latency_predicted_ms`), also before the model may skip
        anything: the measured latency beside it is how its early steering can be checked."""
        if self._latency is None or not self._latency.can_predict:
            return {}
        predicted = self._latency.predict(self.space.cost_features(blueprint))
        trial.set_user_attr("latency_predicted_ms", round(predicted, 4))
        if not self._latency.ready:
            return {}
        limit = self.budgets.limits[LATENCY_BUDGET]
        excess = predicted / limit - 1.0 if self._band_active() else self._latency.excess(predicted, limit)
        return {"latency_predicted": excess} if excess > 0 else {}

    def _learn_latency(self, blueprint: Blueprint, metrics: Mapping[str, float]) -> None:
        if self._latency is not None and LATENCY_METRIC in metrics:
            self._latency.add(self.space.cost_features(blueprint), metrics[LATENCY_METRIC])

    def _band_active(self) -> bool:
        return self.band is not None and bool(self.budgets.analytic) and bool(self.space.width_choices())

    def _place_width(self, structure: Any, widths: list[int], frac: float) -> int:
        """The width `frac` selects among those using [band, 1] of the tightest analytic budget."""
        candidates = {w: self.space.with_width(structure, w) for w in widths}
        usage = {w: self.budgets.usage(self.space.cost(blueprint)) for w, blueprint in candidates.items()}
        feasible = [w for w in widths if usage[w] <= 1.0]
        in_band = [w for w in widths if self.band <= usage[w] <= 1.0]
        choices = in_band or feasible[-1:] or widths[:1]  # out of the band: recorded as infeasible
        choices = self._under_latency({w: candidates[w] for w in choices})
        return choices[min(int(frac * len(choices)), len(choices) - 1)]

    def _under_latency(self, candidates: dict[int, Blueprint]) -> list[int]:
        """The widths (of `candidates`, width -> blueprint, narrowest first) predicted within the
        latency budget, so the proposal is steered under it before it is built instead of only
        being rejected after (the smallest width when none is predicted within:
        `_predicted_violations` then decides; all of them before the first timing).

        Once the model knows its own error (a few timings in), "within" means by that error, the
        90th percentile of its held-out misses: a width predicted just under the limit is over it
        about half the time, and with its median miss as the margin still a quarter of the time
        (benchmarks/results/latency_model.md, before this rule); measuring those is what steering
        is meant to save.
        """
        widths = list(candidates)
        if self._latency is None or not self._latency.can_predict:
            return widths
        limit = self.budgets.limits[LATENCY_BUDGET]
        if self._latency.knows_error:
            limit /= 1.0 + self._latency.error
        under = [w for w, blueprint in candidates.items()
                 if self._latency.predict(self.space.cost_features(blueprint)) <= limit]
        return under or widths[:1]

    def _describe(self, trial: optuna.Trial, blueprint: Blueprint, cost: Cost) -> None:
        trial.set_user_attr("arch_id", blueprint.arch_id)
        trial.set_user_attr("blueprint", blueprint.model_dump(mode="json"))
        trial.set_user_attr("macs", cost.macs)
        trial.set_user_attr("params", cost.params)
        trial.set_user_attr("budget_use", round(self.budgets.usage(cost), 4))

    # ---- finishing ----------------------------------------------------------------------------
    def _finish(
        self,
        trial: optuna.Trial,
        status: str,
        state: TrialState,
        values: list[float] | None = None,
        constraints: Mapping[str, float] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        trial.set_user_attr("gas_status", status)
        for key, value in (extra or {}).items():
            trial.set_user_attr(key, value)
        for key, value in (constraints or {}).items():
            trial.set_constraint(key, value)
        frozen = self.study.tell(trial, values if state == TrialState.COMPLETE else None, state=state)
        if self.listener is not None:
            self.listener(status, frozen)
        return frozen

    def _settle(self, proposal: Proposal, frozen: FrozenTrial) -> FrozenTrial:
        """Cache the result and answer the duplicates that waited for it."""
        arch_id = proposal.blueprint.arch_id
        self._in_flight.pop(arch_id, None)
        self._cache[arch_id] = frozen
        for trial in self._waiting.pop(arch_id, []):
            self._answer_from_cache(trial, frozen)
        return frozen

    def _answer_from_cache(self, trial: optuna.Trial, source: FrozenTrial) -> FrozenTrial:
        extra = {"duplicate_of": source.number, "error": source.user_attrs.get("error"),
                 "screened": source.user_attrs.get("screened")}
        if "metrics" in source.user_attrs:
            extra["metrics"] = source.user_attrs["metrics"]
        return self._finish(
            trial, Status.DUPLICATE, source.state, source.values, source.constraints,
            {k: v for k, v in extra.items() if v is not None},
        )

    # ---- resume -------------------------------------------------------------------------------
    def _recover(self) -> None:
        """Rebuild the cache from the storage; fail and re-enqueue trials a dead driver left RUNNING."""
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            self._requeue(trial)
        for trial in evaluated_trials(self.study):
            if trial.user_attrs.get("arch_id"):
                self._cache[trial.user_attrs["arch_id"]] = trial
                if self._latency is not None and "blueprint" in trial.user_attrs:
                    self._learn_latency(self.space.parse(trial.user_attrs["blueprint"]), trial.user_attrs.get("metrics", {}))

    def _requeue(self, trial: optuna.Trial | FrozenTrial) -> None:
        """Fail an unfinished trial as interrupted and enqueue its parameters to be asked again."""
        if isinstance(trial, optuna.Trial):
            trial.set_user_attr("gas_status", Status.INTERRUPTED)
        else:
            _mark_interrupted(self.study, trial)
        self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        if trial.params:
            self.study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def evaluated_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The trials of `study` evaluated on a worker (complete, failed or over budget), from its storage."""
    return [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("gas_status") in Status.EVALUATIONS]


def evaluations_in(study: optuna.Study) -> int:
    """How many candidates of `study` were evaluated on a worker."""
    return len(evaluated_trials(study))


def _mark_interrupted(study: optuna.Study, trial: FrozenTrial) -> None:
    """Record `gas_status = interrupted` on a RUNNING trial a dead driver left in the storage.

    Optuna offers no public way to write to a trial this process did not ask for: a FrozenTrial is
    a read-only copy and the storage id it needs is private. This is the one place gas reaches into
    `study._storage` and `trial._trial_id`.
    """
    study._storage.set_trial_user_attr(trial._trial_id, "gas_status", Status.INTERRUPTED)


def _as_floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Numeric metrics as floats (non-numeric values dropped: they cannot be objectives)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
