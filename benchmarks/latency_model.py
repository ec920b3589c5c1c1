"""Latency model: its held-out error, and the measurements a latency-budgeted search saves with it.

    python benchmarks/latency_model.py [--blueprints 80] [--budget flops=1G] [--trials 40] [--seeds 0 1]
    python benchmarks/latency_model.py --report [--early]    # rewrite the report [+ first-predictions table]

1. Held-out error. `--blueprints` proposals of the generator under `--budget` (random sampler, the
   width band on: the candidates a budgeted search builds) are built and timed the way the search's
   latency evaluator times them (batch 1, one thread, 10 warm-up and 50 timed calls, median). The
   first ones train `evaluators.latency_model.LatencyModel` on `space.cost_features`, the last
   `--held-out` are predicted: median and 90th-percentile absolute percentage error, for growing
   training sizes, beside a MACs-only model (latency = a * MACs + b) fitted the same way.
2. Saved measurements. `gas.search` with `--budget` plus a latency budget at the median measured
   latency (about half the band is over it), `--trials` evaluations, the default proxy, one trial
   at a time (so no timing shares the cores), with the latency model on and off, for each seed:
   how many candidates were built and timed only to be over the latency budget, and the best proxy.

Writes benchmarks/results/latency_model.{md,json,png}. Run it on a quiet machine: the timings are
the ground truth here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from tabulate import tabulate

from evaluators.latency import measure_latency
from evaluators.latency_model import LatencyModel
from evaluators.machine import describe_machine
from gas.generator import Generator, make_sampler
from gas_kernel.budget import Budgets, parse_budgets
from gas_kernel.objectives import Objectives
from search_spaces import get_space

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
THREADS = 1  # the latency evaluator's threads at gas search's default --cpus-per-trial 1


def proposals(space: Any, budgets: dict[str, float], count: int, seed: int) -> list:
    """The first `count` distinct blueprints a budgeted generator proposes (random sampler, band on)."""
    objectives = Objectives(("proxy",), proxy_key="score")
    study = optuna.create_study(directions=objectives.directions, sampler=make_sampler("random", seed=seed))
    generator = Generator(space=space, budgets=Budgets(budgets), objectives=objectives, study=study,
                          band=0.6, latency_model=False)
    found = []
    while len(found) < count:
        proposal = generator.ask()
        generator.tell_failed(proposal, "not evaluated: only the blueprint is wanted")
        found.append(proposal.blueprint)
    return found


def time_blueprints(space: Any, blueprints: list) -> list[float]:
    times = []
    for index, bp in enumerate(blueprints):
        model = space.build(bp)
        result = measure_latency(model, (bp.in_chans, bp.img_size, bp.img_size), 1, "cpu", THREADS)
        times.append(result.median_ms)
        print(f"  [{index + 1}/{len(blueprints)}] {bp.arch_id} {space.cost(bp).macs / 1e6:.0f} MMACs "
              f"{result.median_ms:.2f} ms", file=sys.stderr, flush=True)
    return times


def trained(features: list[dict], times: list[float], fit: str = "auto") -> LatencyModel:
    """A latency model that has seen these timings."""
    model = LatencyModel(fit=fit)
    for f, y in zip(features, times):
        model.add(f, y)
    return model


def errors(predicted: Any, measured: Any) -> dict[str, float]:
    ape = np.abs(np.asarray(predicted) / np.asarray(measured) - 1.0)  # [blueprints]
    return {"median_ape": float(np.median(ape)), "p90_ape": float(np.quantile(ape, 0.9)), "n": len(ape)}


def held_out(space: Any, blueprints: list, times: list[float], held: int) -> tuple[list[dict], dict]:
    """Error on the last `held` blueprints for models trained on growing prefixes of the rest."""
    feats = [space.cost_features(bp) for bp in blueprints]
    macs = [{"macs": float(space.cost(bp).macs)} for bp in blueprints]
    train_n = len(blueprints) - held
    rows, final = [], {}
    for size in sorted({12, 20, 30, 45, train_n} & set(range(12, train_n + 1))):
        row: dict[str, Any] = {"train": size}
        for name, table in (("features", feats), ("macs_only", macs)):
            model = trained(table[:size], times[:size])
            predicted = [model.predict(f) for f in table[train_n:]]
            row[name] = {**errors(predicted, times[train_n:]), "own_error_p90": model.error}
            if size == train_n:
                final[name] = predicted
        rows.append(row)
    return rows, final


EARLY_SIZES = (1, 2, 3, 5, 8, 12, 20)


def early_errors(space: Any, blueprints: list, times: list[float], limit_ms: float, repeats: int = 100,
                 seed: int = 0) -> list[dict]:
    """After k random timings, on the other blueprints: the median APE of each of the model's fits
    (one rate on the MACs, every rate, and `auto`, the one the generator uses), and how the generator's
    steering sorts them: the share `auto` predicts within `limit_ms` less its own error (what a
    proposal's width is steered to), and the share of those that are over the limit all the same.
    Medians (APE) and means (shares) over `repeats` random draws of the k."""
    feats = [space.cost_features(bp) for bp in blueprints]
    measured = np.asarray(times)  # [blueprints]
    rng = np.random.default_rng(seed)
    rows = []
    for size in EARLY_SIZES:
        draws: dict[str, list[float]] = {fit: [] for fit in ("one_rate", "every_rate", "auto")}
        steered, still_over = [], []
        for _ in range(repeats):
            order = rng.permutation(len(times))
            train, test = order[:size], order[size:]
            models = {fit: trained([feats[i] for i in train], [times[i] for i in train], fit) for fit in draws}
            predicted = {fit: np.array([m.predict(feats[i]) for i in test]) for fit, m in models.items()}  # [test]
            for fit, values in draws.items():
                values.append(errors(predicted[fit], measured[test])["median_ape"])
            auto = models["auto"]
            limit = limit_ms / (1 + auto.error) if auto.knows_error else limit_ms
            within = predicted["auto"] <= limit  # [test]
            steered.append(within.mean())
            if within.any():
                still_over.append(float(np.mean(measured[test][within] > limit_ms)))
        rows.append({"timings": size, **{fit: float(np.median(values)) for fit, values in draws.items()},
                     "steered_within": float(np.mean(steered)), "steered_over": float(np.mean(still_over)),
                     "over": float(np.mean(measured > limit_ms))})
    return rows


def search_runs(budget: str, limit_ms: float, trials: int, seeds: list[int]) -> list[dict]:
    import gas

    out = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in seeds:
            for on in (False, True):
                started = time.perf_counter()
                result = gas.search(runs_dir=runs_dir, progress=False, budgets=[budget, f"latency={limit_ms:.3f}ms"],
                                    trials=trials, seed=seed, latency_model=on, concurrency=1,
                                    run=f"lat-{seed}-{int(on)}")
                trials_ = result.study.get_trials(deepcopy=False)
                status = [t.user_attrs.get("gas_status") for t in trials_]
                timed = [t for t in trials_ if t.user_attrs.get("gas_status") in ("evaluated", "over_budget")]
                measured = [t.user_attrs["gas_status"] for t in timed]  # trial order = timing order here
                best = result.best["metrics"][result.objectives.primary_key] if result.best else None
                out.append({
                    "seed": seed, "latency_model": on, "evaluations": result.evaluations,
                    "over_budget": status.count("over_budget"), "feasible": status.count("evaluated"),
                    "skipped_by_model": sum("latency_predicted" in t.constraints for t in trials_),
                    "best_proxy": best, "seconds": round(time.perf_counter() - started, 1),
                    "over_budget_at": [i + 1 for i, s in enumerate(measured) if s == "over_budget"],
                    "predicted_vs_measured": [  # (measurement #, predicted ms, measured ms): how well it steered
                        [i + 1, t.user_attrs["latency_predicted_ms"], t.user_attrs.get("metrics", {}).get("latency_ms")]
                        for i, t in enumerate(timed) if "latency_predicted_ms" in t.user_attrs],
                })
                print(f"  search seed {seed} model {on}: {out[-1]}", file=sys.stderr, flush=True)
    return out


def write_report(report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latency_model.json").write_text(json.dumps(report, indent=2) + "\n")
    curve = [[r["train"], f"{100 * r['features']['median_ape']:.1f}", f"{100 * r['features']['p90_ape']:.1f}",
              f"{100 * r['features']['own_error_p90']:.1f}", f"{100 * r['macs_only']['median_ape']:.1f}",
              f"{100 * r['macs_only']['p90_ape']:.1f}"] for r in report["held_out"]]
    searches = [[s["seed"], "on" if s["latency_model"] else "off", s["evaluations"], s["over_budget"], s["feasible"],
                 s["skipped_by_model"], "-" if s["best_proxy"] is None else f"{s['best_proxy']:.4g}", s["seconds"],
                 " ".join(map(str, s.get("over_budget_at", [])))]
                for s in report["searches"]]
    summary = report["summary"]
    machine = report["machine"]
    lines = [
        "# Latency model: held-out error and measurements saved",
        "",
        (f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}; latency at batch 1, "
        f"{THREADS} thread, median of 50 calls after 10 warm-up. Space `{report['space']}`, budget "
        f"`{report['budget']}`, {report['blueprints']} generator proposals (random sampler, band 0.6)."),
        "",
        f"## Held-out error ({report['held_out_n']} blueprints never trained on)",
        "",
        ("APE = |predicted / measured - 1|. `own p90`: the model's own leave-one-out 90th percentile, its "
        "`error`: the margin width steering keeps under the limit (and, without width steering, the margin "
        "beyond the limit before it skips a proposal)."),
        "",
        tabulate(curve, ["trained on", "features median APE %", "features p90 APE %", "own p90 %",
                         "MACs-only median APE %", "MACs-only p90 APE %"], tablefmt="github"),
        "",
        "![predicted vs measured](latency_model.png)",
        "",
        *_early_lines(report),
        (f"## Latency-budgeted search (`{report['budget']}`, latency <= {report['limit_ms']:.2f} ms, "
        f"{report['trials']} evaluations, one at a time)"),
        "",
        tabulate(searches, ["seed", "latency model", "evaluations", "over budget (built, timed, rejected)",
                            "feasible", "skipped unbuilt", "best proxy", "seconds", "over budget at measurement #"],
                 tablefmt="github"),
        "",
        (f"Over-budget candidates measured: {summary['over_without']} without the model, {summary['over_with']} with it "
        f"({_fewer(summary['saved_fraction'])}). Best proxy (mean over seeds): {summary['best_without']:.4g} without, "
        f"{summary['best_with']:.4g} with."),
        "",
        *_phase_lines(report["searches"], report.get("phases", LEGACY_PHASES)),
    ]
    (RESULTS / "latency_model.md").write_text("\n".join(lines))


# Measurement k was proposed knowing k - 1 timings (one trial at a time): the model predicts from 1
# (one rate on the MACs), keeps its own error (p90 miss) as a margin from 3 (evaluators.latency_model.
# MIN_ERROR_POINTS) and skips proposals predicted over the limit from 11 (hiera: 7 rates + intercept + 3 spare). A run records
# the phases of the model it ran with; runs from before the one-rate start (no "phases" recorded) had
# LEGACY_PHASES.
PHASES = ((1, 1, "unsteered: no timing yet (1)"), (2, 3, "steered by point predictions (2-3)"),
          (4, 11, "steered by its p90 miss (4-11)"),
          (12, 10**9, "steered by its p90 miss, skipping a proposal predicted over the limit (12-40)"))
LEGACY_PHASES = ((1, 5, "unsteered: the model has < 5 timings (1-5)"), (6, 11, "steered by point predictions (6-11)"),
                 (12, 10**9, "steered by its median miss, skipping beyond its p90 (12-40)"))


def _fewer(saved: float) -> str:
    return f"{saved:.0%} fewer" if saved >= 0 else f"{-saved:.0%} more"


def _early_lines(report: dict) -> list[str]:
    if "early" not in report:
        return []
    table = [[r["timings"], *(f"{100 * r[fit]:.1f}" for fit in ("one_rate", "every_rate", "auto")),
              f"{100 * r['steered_within']:.0f}", f"{100 * r['steered_over']:.0f} (of all: {100 * r['over']:.0f})"]
             for r in report["early"]]
    return [f"## The first predictions of a search (the same {report['blueprints']} timings)", "",
            ("After k random timings, on the other blueprints (100 draws): the median APE of one rate on the "
             "MACs, of every rate (non-negative least squares on all features), and of `auto`, the one of the two "
             "with the smaller leave-one-out error, which the generator steers with; then the share `auto` "
             f"predicts within the limit ({report['limit_ms']:.2f} ms) less its own error (p90 miss), which is where "
             "steering puts a proposal's width, and how many of those are over the limit all the same."), "",
            tabulate(table, ["timings", "one rate %", "every rate %", "auto (shipped) %", "predicted within %",
                             "of those over the limit %"], tablefmt="github"), ""]


def _phase_lines(searches: list[dict], phases: Any) -> list[str]:
    """Over-budget measurements per phase of the latency model, with and without it (all seeds)."""
    if not all("over_budget_at" in s for s in searches):
        return []
    lines = ["Over-budget measurements by measurement number (all seeds), where the model's phases begin:", ""]
    for low, high, label in phases:
        counts = {on: sum(low <= i <= high for s in searches if s["latency_model"] is on for i in s["over_budget_at"])
                  for on in (False, True)}
        misses = [abs(p / m - 1) for s in searches for i, p, m in s.get("predicted_vs_measured", [])
                  if low <= i <= high and m]
        miss = f" (its predictions there: median miss {100 * float(np.median(misses)):.0f}%)" if misses else ""
        lines.append(f"- {label}: {counts[False]} without the model, {counts[True]} with it{miss}")
    return lines + [""]


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = report["held_out_measured"]
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, marker in (("features", "o"), ("macs_only", "x")):
        ax.scatter(measured, report["held_out_predicted"][name], marker=marker, label=name)
    top = max(measured) * 1.1
    ax.plot([0, top], [0, top], color="grey", linewidth=1)
    ax.set_xlabel("measured latency (ms)")
    ax.set_ylabel("predicted latency (ms)")
    ax.set_title("held-out blueprints")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="hiera")
    parser.add_argument("--budget", default="flops=1G")
    parser.add_argument("--blueprints", type=int, default=80)
    parser.add_argument("--held-out", type=int, default=25)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled blueprints (part 1)")
    parser.add_argument("--report", action="store_true", help="only rewrite the markdown from latency_model.json")
    parser.add_argument("--early", action="store_true",
                        help="with --report: also (re)compute the first-predictions table from the recorded timings")
    args = parser.parse_args()
    if args.report:
        report = json.loads((RESULTS / "latency_model.json").read_text())
        if args.early:  # from the recorded timings: regenerate their blueprints (the same seeded proposals)
            space = get_space(report["space"])
            blueprints = proposals(space, parse_budgets([report["budget"]]), report["blueprints"], args.seed)
            if [bp.arch_id for bp in blueprints] != report["arch_ids"]:
                raise SystemExit("the proposals differ from the recorded ones: pass the --seed of that run")
            report["early"] = early_errors(space, blueprints, report["latency_ms"], report["limit_ms"])
        write_report(report)
        print((RESULTS / "latency_model.md").read_text())
        return

    space = get_space(args.space)
    blueprints = proposals(space, parse_budgets([args.budget]), args.blueprints, args.seed)
    print(f"timing {len(blueprints)} blueprints", file=sys.stderr)
    times = time_blueprints(space, blueprints)
    rows, final = held_out(space, blueprints, times, args.held_out)
    limit = statistics.median(times)
    early = early_errors(space, blueprints, times, limit)
    searches = search_runs(args.budget, limit, args.trials, args.seeds)
    off = [s for s in searches if not s["latency_model"]]
    on = [s for s in searches if s["latency_model"]]
    over_without, over_with = sum(s["over_budget"] for s in off), sum(s["over_budget"] for s in on)
    report = {
        "space": args.space, "budget": args.budget, "blueprints": len(blueprints), "held_out_n": args.held_out,
        "machine": describe_machine(), "threads": THREADS,
        "arch_ids": [bp.arch_id for bp in blueprints], "latency_ms": times,
        "held_out": rows, "held_out_measured": times[-args.held_out:], "held_out_predicted": final, "early": early,
        "limit_ms": limit, "trials": args.trials, "searches": searches, "phases": PHASES,
        "summary": {
            "over_without": over_without, "over_with": over_with,
            "saved_fraction": 1 - over_with / over_without if over_without else 0.0,
            "best_without": statistics.mean(s["best_proxy"] for s in off if s["best_proxy"] is not None),
            "best_with": statistics.mean(s["best_proxy"] for s in on if s["best_proxy"] is not None),
        },
    }
    write_report(report)
    plot(report, RESULTS / "latency_model.png")
    print((RESULTS / "latency_model.md").read_text())


if __name__ == "__main__":
    main()
