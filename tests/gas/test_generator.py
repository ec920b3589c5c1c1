"""The generator in-process (no Ray): budgets, the width band, constraints, duplicates, resume."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from gas.config import SearchConfig
from gas.generator import Generator, Status, make_sampler
from gas.runs import open_storage
from gas_kernel.budget import Budgets
from gas_kernel.objectives import Objectives
from search_spaces import get_space

BUDGET = {"flops": 20e6}
BAND = SearchConfig().band  # gas search's default band


def make_generator(storage=None, sampler="tpe", budgets=BUDGET, objectives=("proxy", "macs"), band=BAND, name="g"):
    space = get_space("hiera", img_size=32, num_classes=10)
    objectives = Objectives(objectives, proxy_key="score")
    study = optuna.create_study(storage=storage, study_name=name, directions=objectives.directions,
                                sampler=make_sampler(sampler, seed=0), load_if_exists=True)
    return Generator(space=space, budgets=Budgets(budgets), objectives=objectives, study=study, band=band)


def fake_score(proposal) -> dict:
    return {"score": proposal.blueprint.depth + proposal.cost.macs / 1e7}


def run(generator, n):
    proposals = []
    for _ in range(n):
        proposal = generator.ask()
        generator.tell(proposal, fake_score(proposal))
        proposals.append(proposal)
    return proposals


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "random"])
def test_every_proposal_is_within_budget_and_uses_the_band(sampler):
    generator = make_generator(sampler=sampler, objectives=("proxy",))
    proposals = run(generator, 30)
    uses = [p.cost.macs / BUDGET["flops"] for p in proposals]
    assert max(uses) <= 1.0
    assert min(uses) >= BAND
    assert generator.evaluations() == 30


def test_band_opens_when_macs_is_an_objective():
    # The Pareto front of (proxy, MACs) wants small models too: widths stay within the budget but
    # may use any part of it.
    generator = make_generator(sampler="random", objectives=("proxy", "macs"))
    uses = [p.cost.macs / BUDGET["flops"] for p in run(generator, 30)]
    assert max(uses) <= 1.0
    assert min(uses) < BAND


def test_infeasible_proposals_are_recorded_as_constraints_not_evaluated():
    generator = make_generator(budgets={"flops": 3e6}, sampler="random")
    run(generator, 10)
    infeasible = [t for t in generator.study.trials if t.user_attrs["gas_status"] == Status.INFEASIBLE]
    assert infeasible, "a 3M-MAC budget must reject some structures of the 32px space"
    for trial in infeasible:
        assert trial.state == TrialState.PRUNED
        over, under = trial.constraints["flops"] > 0, trial.constraints["budget_use"] > 0
        assert over == (trial.user_attrs["macs"] > 3e6) and (over or under)
    assert any(t.constraints["flops"] > 0 for t in infeasible)
    evaluated = [t for t in generator.study.trials if t.user_attrs["gas_status"] == Status.EVALUATED]
    assert all(max(t.constraints.values()) <= 0 for t in evaluated)


def test_without_band_widths_are_free():
    generator = make_generator(band=None, sampler="random")
    proposals = run(generator, 20)
    assert "embed_dim" in generator.study.trials[0].params
    assert min(p.cost.macs for p in proposals) / BUDGET["flops"] < BAND


def test_duplicates_are_answered_from_the_cache():
    generator = make_generator(sampler="random")
    first = run(generator, 1)[0]
    generator.study.enqueue_trial(generator.study.trials[first.number].params)
    second = generator.ask()
    assert second.blueprint.arch_id != first.blueprint.arch_id
    duplicate = generator.study.trials[first.number + 1]
    assert duplicate.user_attrs["gas_status"] == Status.DUPLICATE
    assert duplicate.user_attrs["duplicate_of"] == first.number
    assert duplicate.values == generator.study.trials[first.number].values


def test_duplicate_of_an_in_flight_trial_waits_for_it():
    generator = make_generator(sampler="random")
    first = generator.ask()
    generator.study.enqueue_trial(generator.study.trials[first.number].params)
    second = generator.ask()  # the enqueued copy waits; a new blueprint comes out
    generator.tell(first, fake_score(first))
    waiting = generator.study.trials[first.number + 1]
    assert waiting.user_attrs["gas_status"] == Status.DUPLICATE and waiting.state == TrialState.COMPLETE
    assert second.number > waiting.number


def test_failed_and_nan_evaluations_are_failed_trials():
    generator = make_generator(sampler="random")
    a, b = generator.ask(), generator.ask()
    generator.tell_failed(a, "EvaluationError: boom")
    generator.tell(b, {"score": float("nan")})
    states = {t.number: (t.state, t.user_attrs.get("error")) for t in generator.study.trials}
    assert states[a.number] == (TrialState.FAIL, "EvaluationError: boom")
    assert states[b.number][0] == TrialState.FAIL and "non-finite" in states[b.number][1]
    assert generator.evaluations() == 2


def test_a_screened_candidate_keeps_its_cheap_metrics_counts_as_evaluated_and_its_duplicate_says_why():
    generator = make_generator(sampler="random")
    screened = generator.ask()
    generator.tell_screened(screened, "prescreened: grad_norm 0.1 below the running quantile 0.5; not trained",
                            {"grad_norm": 0.1})
    generator.study.enqueue_trial(generator.study.trials[screened.number].params)
    generator.ask()
    source, duplicate = generator.study.trials[screened.number], generator.study.trials[screened.number + 1]
    assert (source.state, source.user_attrs["gas_status"]) == (TrialState.FAIL, Status.SCREENED)
    assert source.user_attrs["metrics"] == {"grad_norm": 0.1} and "error" not in source.user_attrs
    assert duplicate.user_attrs["gas_status"] == Status.DUPLICATE and duplicate.state == TrialState.FAIL
    assert duplicate.user_attrs["screened"].startswith("prescreened: grad_norm")
    assert generator.evaluations() == 1


def test_measured_budget_breach_is_infeasible_after_evaluation():
    generator = make_generator(budgets={"flops": 20e6, "latency": 5.0}, objectives=("proxy", "latency"))
    proposal = generator.ask()
    generator.tell(proposal, {"score": 1.0, "latency_ms": 7.5})
    trial = generator.study.trials[proposal.number]
    assert trial.user_attrs["gas_status"] == Status.OVER_BUDGET
    assert trial.constraints["latency"] == pytest.approx(0.5)


def test_resume_fails_running_trials_requeues_them_and_keeps_the_cache(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    generator = make_generator(storage=storage, sampler="random")
    done = run(generator, 3)
    lost = generator.ask()  # RUNNING when the "driver dies"
    resumed = make_generator(storage=storage, sampler="random")
    old = resumed.study.trials[lost.number]
    assert old.state == TrialState.FAIL and old.user_attrs["gas_status"] == Status.INTERRUPTED
    assert resumed.evaluations() == 3
    retry = resumed.ask()
    assert retry.blueprint.arch_id == lost.blueprint.arch_id
    assert retry.blueprint.arch_id not in {p.blueprint.arch_id for p in done}
    # a re-proposal of a completed blueprint is answered from the storage-backed cache
    resumed.study.enqueue_trial(resumed.study.trials[done[0].number].params)
    resumed.tell(retry, fake_score(retry))
    resumed.ask()
    assert any(t.user_attrs.get("duplicate_of") == done[0].number for t in resumed.study.trials)


def test_interrupted_trials_are_failed_and_enqueued_again():
    generator = make_generator(sampler="random")
    run(generator, 1)
    lost = generator.ask()
    assert generator.release_in_flight() == 1
    trial = generator.study.trials[lost.number]
    assert trial.state == TrialState.FAIL and trial.user_attrs["gas_status"] == Status.INTERRUPTED
    assert generator.ask().blueprint.arch_id == lost.blueprint.arch_id


def test_fail_in_flight_counts_as_failed_evaluations():
    generator = make_generator(sampler="random")
    generator.ask(), generator.ask()
    assert generator.fail_in_flight("worker killed") == 2
    assert generator.evaluations() == 2 and generator.in_flight == 0
    assert {t.user_attrs.get("error") for t in generator.study.trials if t.state == TrialState.FAIL} == {"worker killed"}


def fake_latency_ms(space, blueprint) -> float:
    """A latency that the cost features explain exactly (as a quiet, well-modelled device would)."""
    f = space.cost_features(blueprint)
    return 1e-6 * f["linear_macs"] + 2e-6 * f["attention_macs"] + 0.05 * f["blocks"] + 0.2


def run_with_latency(latency_model: bool, limit_ms: float, n: int = 40):
    space = get_space("hiera", img_size=32, num_classes=10)
    objectives = Objectives(("proxy",), proxy_key="score")
    study = optuna.create_study(directions=objectives.directions, sampler=make_sampler("random", seed=0))
    generator = Generator(space=space, budgets=Budgets({**BUDGET, "latency": limit_ms}), objectives=objectives,
                          study=study, band=BAND, latency_model=latency_model)
    for _ in range(n):
        proposal = generator.ask()
        generator.tell(proposal, {**fake_score(proposal), "latency_ms": fake_latency_ms(space, proposal.blueprint)})
    return space, study


def test_latency_model_skips_proposals_it_knows_are_over_the_latency_budget():
    space, plain = run_with_latency(False, limit_ms=1e9)
    measured = sorted(t.user_attrs["metrics"]["latency_ms"] for t in plain.trials if "metrics" in t.user_attrs)
    limit = measured[len(measured) // 2]  # about half of the proposals are over it
    _, without = run_with_latency(False, limit)
    _, with_model = run_with_latency(True, limit)

    def over(study):
        return sum(t.user_attrs["gas_status"] == Status.OVER_BUDGET for t in study.trials)

    skipped = [t for t in with_model.trials if "latency_predicted" in t.constraints]
    assert over(without) >= 10
    assert over(with_model) <= over(without) / 2
    assert skipped and all(t.user_attrs["gas_status"] == Status.INFEASIBLE for t in skipped)
    for trial in skipped:  # never built, and rightly so: each was truly over the budget
        assert "metrics" not in trial.user_attrs
        assert fake_latency_ms(space, space.parse(trial.user_attrs["blueprint"])) > limit
        assert trial.user_attrs["latency_predicted_ms"] > limit


def _generator_with_timings(band: float | None) -> tuple:
    """(space, study, generator) after 15 timed proposals of a 32 px hiera search: its latency model is ready."""
    space = get_space("hiera", img_size=32, num_classes=10)
    objectives = Objectives(("proxy",), proxy_key="score")
    study = optuna.create_study(directions=objectives.directions, sampler=make_sampler("random", seed=0))
    generator = Generator(space=space, budgets=Budgets({**BUDGET, "latency": 1e9}), objectives=objectives,
                          study=study, band=band)
    for _ in range(15):
        proposal = generator.ask()
        generator.tell(proposal, {**fake_score(proposal), "latency_ms": fake_latency_ms(space, proposal.blueprint)})
    return space, study, generator


def test_once_the_latency_model_is_ready_the_width_is_steered_under_the_latency_budget():
    space, study, generator = _generator_with_timings(BAND)
    widths = space.width_choices()

    def band_widths(structure):
        return [w for w in widths if BAND <= generator.budgets.usage(space.cost(space.with_width(structure, w))) <= 1]

    structure = next(s for s in (space.sample_structure(study.ask()) for _ in range(200)) if len(band_widths(s)) >= 3)
    in_band = band_widths(structure)
    latency = {w: fake_latency_ms(space, space.with_width(structure, w)) for w in in_band}
    limit = (latency[in_band[0]] + latency[in_band[-1]]) / 2  # the widest in-band widths are over it
    generator.budgets = Budgets({**BUDGET, "latency": limit})
    placed = generator._place_width(structure, widths, frac=1.0)  # unsteered: the widest in the band
    assert latency[in_band[-1]] > limit
    assert placed in in_band and latency[placed] <= limit
    assert placed == max(w for w in in_band if latency[w] <= limit)
    generator._latency.error_at = lambda quantile: {0.5: 0.1, 0.9: 0.5}[quantile]  # median miss 10%, p90 50%
    cautious = generator._place_width(structure, widths, frac=1.0)
    assert cautious == max((w for w in in_band if latency[w] <= limit / 1.5), default=in_band[0])
    assert cautious < placed  # steered under the limit by the model's own error, its p90 miss


@pytest.mark.parametrize("band", [BAND, None])
def test_a_ready_model_rules_out_a_width_steered_proposal_predicted_over_the_limit_at_all(band):
    """Band on: steering already chose the narrowest width, so predicted over the limit means no width
    fits, and it is not measured. Band off: only a prediction over by more than the model's error is."""
    space, study, generator = _generator_with_timings(band)
    assert generator._latency.ready
    blueprint = space.random(7)
    predicted = generator._latency.predict(space.cost_features(blueprint))
    generator._latency.error_at = lambda quantile: 0.5  # its own error: 50%
    for over, ruled_out in ((0.98, False), (1.02, band is not None), (1.6, True)):
        generator.budgets = Budgets({**BUDGET, "latency": predicted / over})
        violations = generator._predicted_violations(study.ask(), blueprint)
        assert ("latency_predicted" in violations) is ruled_out, (over, band)


def test_latency_model_is_rebuilt_from_the_storage_on_resume(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    space = get_space("hiera", img_size=32, num_classes=10)
    objectives = Objectives(("proxy",), proxy_key="score")

    def generator():
        study = optuna.create_study(storage=storage, study_name="lat", directions=objectives.directions,
                                    sampler=make_sampler("random", seed=0), load_if_exists=True)
        return Generator(space=space, budgets=Budgets({**BUDGET, "latency": 1e9}), objectives=objectives,
                         study=study, band=BAND)

    first = generator()
    for _ in range(12):
        proposal = first.ask()
        first.tell(proposal, {**fake_score(proposal), "latency_ms": fake_latency_ms(space, proposal.blueprint)})
    resumed = generator()
    assert len(resumed._latency) == len(first._latency) == 12
    probe = space.random(123)
    assert resumed._latency.predict(space.cost_features(probe)) == pytest.approx(
        first._latency.predict(space.cost_features(probe)))


def test_an_impossible_latency_budget_exhausts_the_generator_instead_of_building_more(monkeypatch):
    monkeypatch.setattr("gas.generator.MAX_PROPOSALS_PER_ASK", 50)
    space = get_space("hiera", img_size=32, num_classes=10)
    objectives = Objectives(("proxy",), proxy_key="score")
    study = optuna.create_study(directions=objectives.directions, sampler=make_sampler("random", seed=0))
    generator = Generator(space=space, budgets=Budgets({**BUDGET, "latency": 0.01}), objectives=objectives,
                          study=study, band=BAND)
    built = 0
    while (proposal := generator.ask()) is not None:
        generator.tell(proposal, {**fake_score(proposal), "latency_ms": fake_latency_ms(space, proposal.blueprint)})
        built += 1
    assert generator.exhausted
    assert built == len(generator._latency) == 11  # just enough to fit the model's 7 rates and check them
    skipped = [t.number for t in study.trials if "latency_predicted" in t.constraints]
    measured = [t.number for t in study.trials if "metrics" in t.user_attrs]
    assert skipped and max(measured) < min(skipped)  # once it knew, nothing more was built
