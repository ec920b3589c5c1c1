"""Search quality in trained accuracy: gas's winner against simpler ways of choosing, all trained to a plateau.

    python benchmarks/search_accuracy.py                  # search, train the winners, report (resumable)
    python benchmarks/search_accuracy.py --report         # only rewrite the report from the results so far
    python benchmarks/search_accuracy.py --budgets flops=2.5M --search-seeds 0 1 2   # + two more searches each
    python benchmarks/search_accuracy.py --budgets flops=1M --trials 4 --seeds 0 --epochs 1 \
        --train-images 300 --results /tmp/sa --work /tmp/sa-work          # a smoke run, minutes

For each analytic budget, on the reference set's data (Fashion-MNIST, 32 px, 1 channel, 10 classes),
six ways of choosing one blueprint, the searches with the same number of evaluations:

    gas            `gas search` with the default signal (evaluators.DEFAULT_PROXY): TPE + budget-aware width
    gas-cascade    `gas search` as a cheap-first cascade: every candidate scored by the rank ensemble
                   (zero-cost signals, refitted on what the search trains), the top 30% trained 2 epochs
                   on the same 10k-image subset (`--proxy train --prescreen ensemble --train-images`)
                   and ranked by that val top-1
    gas-predictor  `gas search --proxy predictor`: the learned predictor's val top-1, shipped fitted on the
                   reference set (of the signals scored without training, its pick among the reference
                   blueprints gains the most in `search_headroom.py`)
    optuna-random  Optuna's RandomSampler over the space's own dimensions, gas's signal and evaluations
    random         one random feasible blueprint (seeded): a random structure at a random width placed in
                   the budget band by gas's generator, no signal at all
    hiera-t        Hiera-T's stage ratios (depths 1-2-7-2, width and heads doubling from one head, mask unit
                   attention in the first two stages, MLP ratio 4, patch stride 4), depth and width scaled
                   to the largest MACs within the budget

Each winner is trained with the reference recipe (30 epochs on the reference set's fixed 10k-image
subset, the full 10k test set) with three seeds, through `ground_truth.run_jobs` and its checkpoint
folder: a blueprint the reference set already trained with a seed is not trained again, and an
interrupted run resumes. Differences are paired on the same test images: per image, the share of a
method's seeds that classify it right; the difference of two methods is the mean over images, and
its 95% interval a bootstrap that resamples the test images and each method's seeds.

`--search-seeds 0 1 2` runs every search again with other seeds (and draws other random blueprints);
those winners train with the first training seed only, and a second table compares the methods
over the search seeds, its interval resampling them as well: one search's luck is not the method.

State: `search_accuracy_winners.json` (the searches run once; their winners and wall times) and
`search_accuracy.jsonl` (one line per training). Report: `search_accuracy.{md,json}`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ground_truth import (  # a sibling benchmark script, importable through the path above
    DATA,
    EPOCHS,
    SPACE_OPTIONS,
    TRAIN_IMAGES,
    WORK,
    add_runner_options,
    done_keys,
    run_jobs,
    unpack_hits,
)
from ground_truth_report import markdown_cell
from search_headroom import MIN_BLUEPRINTS, headroom
from search_headroom import markdown as headroom_markdown

METHODS = ("gas", "gas-cascade", "gas-predictor", "optuna-random", "random", "hiera-t")
GAS_METHODS = ("gas", "gas-cascade", "gas-predictor")  # each is compared with every simpler way of choosing
SEARCHES = {  # method -> gas.search settings besides the budget, trials, seed and (unless given) signal
    "gas": {"sampler": "tpe"},
    "gas-cascade": {"sampler": "tpe", "proxy": "train", "epochs": 2, "prescreen": "ensemble", "prescreen_keep": 0.3},
    "gas-predictor": {"sampler": "tpe", "proxy": "predictor"},
    "optuna-random": {"sampler": "random", "band": None},
}
HIERA_T = {"depths": (1, 2, 7, 2), "dim_mul": 2.0, "mlp_ratio": 4.0, "mask_unit_stages": 2,
           "patch_stride": 4, "mask_unit_size": 4}  # 8 x 8 tokens at 32 px; 4 x 4 mask units, global from stage 2
HIERA_T_WIDTHS = range(8, 200, 8)  # its own width scale: Hiera-T has one head of the full width in stage 1
DEPTH_SCALES = (1.0, 0.75, 0.5, 0.3, 0.15)
GOAL_POINTS = 1.5
Winners = dict[str, dict[str, dict[str, dict[str, Any]]]]  # budget -> method -> search seed -> winner


def search_winner(method: str, budget: str, search_seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """The best-signal blueprint of a `gas search` with the method's settings (`SEARCHES`)."""
    import evaluators
    import gas

    settings = {"proxy": args.proxy, **SEARCHES[method]}
    if settings["proxy"] == "train":
        settings["train_images"] = args.train_images  # the reference recipe's subset, not all 60k images
    start = time.perf_counter()
    result = gas.search(runs_dir=Path(args.work) / "search_accuracy_runs", progress=False, space="hiera", data=DATA,
                        budgets=[budget], trials=args.trials, seed=search_seed,
                        run=f"{method}-{budget.replace('=', '')}-s{search_seed}", **settings)
    if result.best is None:
        raise SystemExit(f"{method} under {budget}: no feasible candidate in {args.trials} evaluations")
    signal = evaluators.get_evaluator(settings["proxy"]).metrics[0]
    return {"blueprint": result.best["blueprint"], "signal": result.best["metrics"].get(signal),
            "evaluations": result.evaluations, "search_s": round(time.perf_counter() - start, 1)}


def random_winner(budget: str, seed: int) -> dict[str, Any]:
    """The first proposal of gas's generator with a random sampler: random structure, width in the band."""
    import optuna

    import gas
    from gas.config import SearchConfig
    from gas.generator import Generator, make_sampler
    from gas_kernel.budget import Budgets, parse_budgets
    from gas_kernel.objectives import Objectives

    objectives = Objectives(("proxy",), proxy_key="score")
    study = optuna.create_study(directions=objectives.directions, sampler=make_sampler("random", seed=seed))
    generator = Generator(space=gas.get_space("hiera", **SPACE_OPTIONS), budgets=Budgets(parse_budgets([budget])),
                          objectives=objectives, study=study, band=SearchConfig().band)
    return {"blueprint": generator.ask().blueprint.model_dump(mode="json"), "search_s": 0.0, "evaluations": 0}


def hiera_t_winner(budget: str) -> dict[str, Any]:
    """Hiera-T's ratios at the (depth scale, width) whose MACs come closest to the budget from below."""
    import gas
    from gas_kernel.budget import Budgets, parse_budgets

    space, budgets = gas.get_space("hiera", **SPACE_OPTIONS), Budgets(parse_budgets([budget]))
    best = None
    for scale in DEPTH_SCALES:
        for width in HIERA_T_WIDTHS:
            blueprint = space.with_width(_hiera_t_structure(scale, width), width)
            use = budgets.usage(space.cost(blueprint))
            if use <= 1.0 and (best is None or use > best[0] + 1e-9):
                best = (use, blueprint)
    if best is None:
        raise SystemExit(f"Hiera-T's ratios do not fit {budget} at any depth scale and width")
    return {"blueprint": best[1].model_dump(mode="json"), "search_s": 0.0, "evaluations": 0}


def _hiera_t_structure(depth_scale: float, width: int) -> dict[str, Any]:
    """Hiera-T in the space's structure form, depths scaled by `depth_scale` (each at least 1), one head
    of `width` in the first stage (heads double with the width, as in Hiera-T)."""
    stages = [{"depth": max(1, round(depth * depth_scale)), "dim_mul": HIERA_T["dim_mul"] if i else 1.0,
               "mlp_ratio": HIERA_T["mlp_ratio"], "mask_unit_attn": i < HIERA_T["mask_unit_stages"]}
              for i, depth in enumerate(HIERA_T["depths"])]
    return {"num_stages": len(stages), "patch_stride": HIERA_T["patch_stride"], "q_pool": len(stages) - 1,
            "mask_unit_size": HIERA_T["mask_unit_size"], "head_dim": width, "stages": stages}


def find_winners(args: argparse.Namespace, path: Path) -> Winners:
    """budget -> method -> search seed -> winner, running only the searches not yet saved in `path`."""
    winners = json.loads(path.read_text()) if path.is_file() else {}
    for budget in args.budgets:
        for method in args.methods:
            chosen = winners.setdefault(budget, {}).setdefault(method, {})
            for search_seed in args.search_seeds:
                if str(search_seed) in chosen:
                    continue
                if method in SEARCHES:
                    winner = search_winner(method, budget, search_seed, args)
                elif method == "random":
                    winner = random_winner(budget, search_seed)
                else:
                    winner = hiera_t_winner(budget)  # no seed: the same blueprint every time
                winner.update(proxy=SEARCHES.get(method, {}).get("proxy", args.proxy), trials=args.trials,
                              search_seed=search_seed)
                chosen[str(search_seed)] = winner
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(winners, indent=1, sort_keys=True))  # after each: a search runs once
                print(f"{budget} {method} search seed {search_seed}: winner found in {winner['search_s']:.0f} s",
                      flush=True)
    return winners


def training_seeds(search_seed: int, args: argparse.Namespace) -> list[int]:
    """The first search seed's winners train with every `--seeds`; the others' with the first only
    (a further search seed says more about the method than a further training seed does)."""
    return args.seeds if search_seed == args.search_seeds[0] else args.seeds[:1]


def training_jobs(winners: Winners, args: argparse.Namespace) -> list[dict[str, Any]]:
    """(blueprint, seed) jobs of every winner, labelled `method@budget`, deduplicated by (arch_id, seed)."""
    import gas

    space = gas.get_space("hiera", **SPACE_OPTIONS)
    jobs, seen = [], set()
    for search_seed in args.search_seeds:  # the first search seed's winners first: the main table
        for budget in args.budgets:
            for method in args.methods:
                blueprint = space.parse(winners[budget][method][str(search_seed)]["blueprint"])
                for seed in training_seeds(search_seed, args):
                    if (blueprint.arch_id, seed) not in seen:
                        seen.add((blueprint.arch_id, seed))
                        jobs.append({"slice": f"{method}@{budget}", "blueprint": blueprint, "seed": seed,
                                     "epochs": args.epochs, "train_images": args.train_images})
    return jobs


def paired_difference(hits_a: np.ndarray, hits_b: np.ndarray, resamples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean top-1 of A minus B in points, and its bootstrap 95% interval.

    `hits_*`: [seeds, images] bool. Each resample draws the test images (shared by A and B: the
    pairing) and, for each method, its seeds, with replacement.
    """
    rng = np.random.default_rng(seed)
    images = hits_a.shape[1]
    diffs = np.empty(resamples)
    for r in range(resamples):
        index = rng.integers(0, images, images)
        a = hits_a[rng.integers(0, len(hits_a), len(hits_a))][:, index].mean()
        b = hits_b[rng.integers(0, len(hits_b), len(hits_b))][:, index].mean()
        diffs[r] = a - b
    low, high = np.quantile(diffs, [0.025, 0.975])
    return {"points": 100 * float(hits_a.mean() - hits_b.mean()), "low": 100 * float(low), "high": 100 * float(high)}


def summarize(winners: Winners, records: list[dict[str, Any]], args: argparse.Namespace) -> dict:
    """Per budget: the first search seed's winners (blueprint, cost, each training seed's top-1, mean,
    spread; gas's paired differences), the same across every search seed, and the headroom."""
    import gas

    space = gas.get_space("hiera", **SPACE_OPTIONS)
    by_key = {(r["arch_id"], r["seed"], r["epochs"], r["train_images"]): r for r in records}

    def trainings(winner: dict[str, Any], seeds: list[int]) -> tuple[Any, list[dict[str, Any]]]:
        """A winner's blueprint and its finished trainings with `seeds`."""
        blueprint = space.parse(winner["blueprint"])
        keys = ((blueprint.arch_id, seed, args.epochs, args.train_images) for seed in seeds)
        return blueprint, [by_key[k] for k in keys if k in by_key]

    summary: dict[str, Any] = {"budgets": {}, "seeds": args.seeds, "search_seeds": args.search_seeds,
                               "epochs": args.epochs, "train_images": args.train_images, "trials": args.trials,
                               "proxy": args.proxy}
    first = args.search_seeds[0]
    for budget in args.budgets:
        rows, hits, across, across_hits = {}, {}, {}, {}
        for method in args.methods:
            found = winners.get(budget, {}).get(method, {})
            if str(first) in found:
                blueprint, done = trainings(found[str(first)], args.seeds)
                rows[method] = _winner_row(space, blueprint, found[str(first)], done)
                if len(done) == len(args.seeds) and _has_hits(done):
                    hits[method] = _stacked_hits(done)  # [seeds, images]
            seeded = [found[str(s)] for s in args.search_seeds if str(s) in found]
            if len(args.search_seeds) > 1 and len(seeded) == len(args.search_seeds):
                firsts = [trainings(winner, args.seeds[:1])[1][:1] for winner in seeded]  # each: [] or [training]
                across[method] = [100 * done[0]["final_val_top1"] if done else None for done in firsts]
                if all(firsts) and _has_hits([done[0] for done in firsts]):
                    across_hits[method] = _stacked_hits([done[0] for done in firsts])  # [search seeds, images]
        summary["budgets"][budget] = {"methods": rows, "differences": _differences(hits), "headroom": headroom(budget),
                                      "across_search_seeds": {"top1": across,
                                                              "differences": _differences(across_hits)}}
    return summary


def _winner_row(space: Any, blueprint: Any, winner: dict[str, Any], done: list[dict[str, Any]]) -> dict[str, Any]:
    """A winner's table row: blueprint, cost, search time and its finished trainings' top-1."""
    cost, top1 = space.cost(blueprint), [r["final_val_top1"] for r in done]
    return {"arch_id": blueprint.arch_id, "describe": blueprint.describe(), "macs": cost.macs, "params": cost.params,
            "search_s": winner["search_s"], "signal": winner.get("signal"), "top1": top1,
            "mean": float(np.mean(top1)) if top1 else None, "spread": float(np.std(top1)) if len(top1) > 1 else None,
            "trained": len(done), "train_s": sum(r["train_s"] for r in done)}


def _has_hits(trainings: list[dict[str, Any]]) -> bool:
    return all("val_hits" in r for r in trainings)


def _stacked_hits(trainings: list[dict[str, Any]]) -> np.ndarray:
    """[trainings, images] bool: which test images each training classifies right."""
    return np.stack([unpack_hits(r["val_hits"], r["val_images"]) for r in trainings])


def _differences(hits: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Each gas method minus each simpler way of choosing, paired on the test images."""
    return {f"{ours} - {other}": paired_difference(hits[ours], hits[other])
            for ours in GAS_METHODS for other in METHODS if other not in GAS_METHODS and ours in hits and other in hits}


def difference_lines(differences: dict[str, dict[str, float]]) -> list[str]:
    """One line per paired difference, with its verdict against the goal."""
    lines = []
    for pair, diff in differences.items():
        verdict = "meets" if diff["low"] > 0 and diff["points"] >= GOAL_POINTS else "does not meet"
        lines.append(f"- {pair}: {diff['points']:+.2f} points [{diff['low']:+.2f}, {diff['high']:+.2f}] "
                     f"({verdict} the goal: >= {GOAL_POINTS} points, interval above 0)")
    return lines


def across_search_seeds(section: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    """The table and differences over every search seed (one training seed each), when there are several."""
    across = section.get("across_search_seeds", {})
    if not across.get("top1"):
        return []
    seeds = summary["search_seeds"]
    table = [[method, *("" if t is None else f"{t:.2f}" for t in top1),
              "" if None in top1 else f"{np.mean(top1):.2f}"] for method, top1 in across["top1"].items()]
    return [f"### Across search seeds {seeds} (training seed {summary['seeds'][0]} each)", "",
            ("Each search run again with another seed (`random` draws another blueprint; `hiera-t` has none); "
            "the interval now resamples the search seeds too, so it holds the search's own luck."), "",
            tabulate(table, ["method", *(f"search seed {s} %" for s in seeds), "mean %"], tablefmt="github"), "",
            *difference_lines(across["differences"]), ""]


def why(section: dict[str, Any], proxy: str | None) -> list[str]:
    """Measured reasons a gap falls short of the goal, and what would close it, from the budget's headroom."""
    room = section["headroom"]
    if "note" in room:
        return [(f"- **Why is not measured here**: {room['note']}. Training at least "
                 f"{MIN_BLUEPRINTS - room['blueprints']} more random blueprints in this band with the reference recipe "
                 "would measure the headroom and each signal's pick gain at this budget, as this report does where the "
                 "reference set is dense enough."), ""]
    oracle, signals = room["oracle"], room["signals"]
    best_name, best = max(signals.items(), key=lambda item: item[1]["points"])
    measured = _measured_gap(section)
    lines = [(f"- **Headroom.** Among the {room['blueprints']} reference blueprints in this band (drawn the way `random` "
              f"draws, trained with the same recipe), a perfect chooser gains {_gain(oracle)} points over a random pick. "
              f"The goal's {GOAL_POINTS} points over `random` is {GOAL_POINTS / oracle['points']:.0%} of that"
              + (f"; gas's measured {measured[1]['points']:+.2f} ({measured[0]}) is "
                 f"{measured[1]['points'] / oracle['points']:.0%}." if measured else "."))]
    if proxy in signals:
        lines.append(f"- **The signal.** gas and optuna-random both rank by `{proxy}`, whose pick among them gains "
                     f"{_gain(signals[proxy])}; what separates the two is the sampler (TPE with the width placed in the band, "
                     "against uniform over the space's dimensions), not the signal.")
    lines += _luck(section)
    half_widths = [(d["high"] - d["low"]) / 2 for d in section["differences"].values()]
    lines.append(f"- **What would close it.** A signal whose pick gains >= {GOAL_POINTS} here; the best measured, "
                 f"`{best_name}`, gains {_gain(best)}, so none does yet, and a signal must order candidates of "
                 "equal cost nearly as the trained top-1 does.")
    if half_widths:
        lines.append(f"  Proving it also takes a mean gap of about {GOAL_POINTS + float(np.mean(half_widths)):.1f} "
                     f"points: with 3 seeds on 10k test images the interval's half width is "
                     f"{float(np.mean(half_widths)):.2f} points.")
    return [*lines, ""]


def _measured_gap(section: dict[str, Any]) -> tuple[str, dict[str, float]] | None:
    """gas - random over every search seed when they are all trained, else from the first search."""
    pooled = section.get("across_search_seeds", {}).get("differences", {}).get("gas - random")
    if pooled is not None:
        return f"over {len(section['across_search_seeds']['top1']['gas'])} search seeds", pooled
    first = section["differences"].get("gas - random")
    return ("one search", first) if first is not None else None


def _luck(section: dict[str, Any]) -> list[str]:
    """How far one method's winners lie apart over the search seeds, against the gap the goal asks for."""
    across = section.get("across_search_seeds", {})
    top1, first = across.get("top1", {}).get("gas"), section["differences"].get("gas - random")
    pooled = across.get("differences", {}).get("gas - random")
    if not top1 or None in top1 or first is None or pooled is None:
        return []
    verdict = " The first search's gap was mostly its luck." if pooled["points"] < first["points"] / 2 else ""
    return [(f"- **One search's luck.** Over {len(top1)} search seeds gas's winners scored {min(top1):.2f} - "
            f"{max(top1):.2f} % ({max(top1) - min(top1):.2f} points apart); over them gas - random is {_gain(pooled)}, "
            f"against {_gain(first)} from the first search alone.{verdict}")]


def _gain(gain: dict[str, float]) -> str:
    return f"{gain['points']:+.2f} [{gain['low']:+.2f}, {gain['high']:+.2f}]"


def write_report(summary: dict[str, Any], results: Path) -> None:
    """search_accuracy.{json,md}: per budget, each method's trained top-1, and gas's paired differences."""
    setup = (f"Fashion-MNIST at 32 px; each winner trained with the reference recipe for {summary['epochs']} "
             f"epochs on {summary['train_images']} images, seeds {summary['seeds']}; {summary['trials']} evaluations "
             "per search. Differences are paired on the same test images (bootstrap over images and seeds).")
    lines = ["# Search quality in trained top-1", "", setup, ""]
    for budget, section in summary["budgets"].items():
        lines += [f"## Budget {budget}", ""]
        table = [[m, markdown_cell(r["describe"]), f"{r['macs'] / 1e6:.2f}", f"{r['params'] / 1e6:.3f}",
                  " ".join(f"{100 * t:.2f}" for t in r["top1"]) or "not trained",
                  "" if r["mean"] is None else f"{100 * r['mean']:.2f}",
                  "" if r["spread"] is None else f"{100 * r['spread']:.2f}", f"{r['search_s']:.0f}"]
                 for m, r in section["methods"].items()]
        lines += [tabulate(table, ["method", "blueprint", "MMACs", "M params", "top-1 per seed %", "mean %",
                                   "seed std", "search s"], tablefmt="github"), ""]
        lines += [*difference_lines(section["differences"]), "", *across_search_seeds(section, summary),
                  "### Why, and what would close it", "", *why(section, summary.get("proxy")),
                  *headroom_markdown(section["headroom"], standalone=False)]
    results.mkdir(parents=True, exist_ok=True)
    (results / "search_accuracy.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    (results / "search_accuracy.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    import evaluators

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="+", default=["flops=2.5M", "flops=1M"],
                        help="analytic budgets (MACs at 32 px); the first matches the reference set's band slice")
    parser.add_argument("--trials", type=int, default=40, help="evaluations of each search")
    parser.add_argument("--search-seeds", type=int, nargs="+", default=[0],
                        help="seeds of each search (and of the random pick); the first one's winners train with "
                             "every --seeds, the others' with the first")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="ways of choosing to compare (default: all; a winner already found is reused)")
    parser.add_argument("--proxy", default=evaluators.DEFAULT_PROXY, help="the signal both searches rank by")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds of each winner")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--train-images", type=int, default=TRAIN_IMAGES)
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--report", action="store_true", help="only rewrite the report from the results so far")
    add_runner_options(parser, WORK)
    args = parser.parse_args()
    jsonl, winners_path = args.results / "search_accuracy.jsonl", args.results / "search_accuracy_winners.json"
    winners = json.loads(winners_path.read_text()) if args.report and winners_path.is_file() else None
    if not args.report:
        winners = find_winners(args, winners_path)
        done = done_keys(jsonl, args.epochs, args.train_images)
        pending = [job for job in training_jobs(winners, args) if (job["blueprint"].arch_id, job["seed"]) not in done]
        print(f"{len(pending)} trainings to run", flush=True)
        run_jobs(pending, jsonl, args)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()] if jsonl.is_file() else []
    write_report(summarize(winners or {}, records, args), args.results)


if __name__ == "__main__":
    main()
