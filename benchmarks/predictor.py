"""The learned accuracy predictor, judged only out of sample, beside every single signal.

    python benchmarks/predictor.py --features     # measure the signals of every reference blueprint (cached)
    python benchmarks/predictor.py                # grouped CV on the Hiera reference set + KFold on AutoFormer

* **Hiera reference set** (`benchmarks/results/ground_truth.jsonl`, trained by ground_truth.py; read
  from $GAS_GROUND_TRUTH_RESULTS when set, as ground_truth.py writes there): grouped k-fold by
  arch_id (a blueprint's two seeds never straddle folds), the predictor on zero-cost signals and
  on zero-cost signals + first-epoch val top-1, against each proxy, params, MACs and first-epoch
  top-1 alone, each tau with a bootstrap 95% interval, over the per-blueprint mean of its seeds.
* **AutoFormer table** (`../shared/data/reference/autoformer_vitbench101.json`: 200 plain-ViT
  sub-networks trained 300 epochs on CIFAR-100): the space-independent part alone (the arch dict's
  encoding + closed-form params/MACs), 5-fold, on `c100_kd_acc` (all 200) and `c100_base_acc` (100).

Writes `benchmarks/results/predictor.{md,json}` and `predictor.png` (out-of-sample prediction vs truth).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # benchmarks/ is not a package: its modules import each other by name

from ground_truth import JSONL as REFERENCE_JSONL
from ground_truth import SPACE_OPTIONS, jobs
from ground_truth_report import summarize

from evaluators.jsonl import read_jsonl
from evaluators.predictor import (
    AccuracyPredictor,
    RankEnsemble,
    candidate_features,
    cross_validate,
)
from evaluators.predictor.reference import (
    FEATURES_FILE,
    FIRST_EPOCH,
    REFERENCE_DATA,
    load_reference_table,
)
from evaluators.predictor.signals import NOISE, SignalProtocol, measure_signals
from evaluators.predictor.validation import per_group
from evaluators.ranking import kendall_with_interval

RESULTS = HERE / "results"
FEATURES = RESULTS / FEATURES_FILE
AUTOFORMER = HERE.parent.parent / "shared" / "data" / "reference" / "autoformer_vitbench101.json"
CALIBRATION = RESULTS / "calibration.json"


def measure_features(protocol: SignalProtocol) -> None:
    """Append the signals of every reference blueprint not yet cached, on noise and on the reference data,
    in the order ground_truth.py trains them (so the trained ones are cached first)."""
    import torch

    import gas

    space = gas.get_space("hiera", **SPACE_OPTIONS)
    cached = {(line["arch_id"], line["data"]) for line in read_jsonl(FEATURES, "feature cache", "")} \
        if FEATURES.is_file() else set()
    blueprints = list({job["blueprint"].arch_id: job["blueprint"] for job in jobs()}.values())  # training order
    for index, blueprint in enumerate(blueprints):
        for data in (NOISE, REFERENCE_DATA):
            if (blueprint.arch_id, data) in cached:
                continue
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(protocol.seed)  # the weights a search trial builds (gas.trial)
                model = space.build(blueprint)
            start = time.perf_counter()
            signals = measure_signals(model, blueprint, None if data == NOISE else data, protocol)
            line = {"arch_id": blueprint.arch_id, "data": data, "batch_size": protocol.batch_size,
                    "seed": protocol.seed, "signals": signals, "seconds": round(time.perf_counter() - start, 3)}
            with FEATURES.open("a") as handle:
                handle.write(json.dumps(line, sort_keys=True) + "\n")
            print(f"{index + 1}/{len(blueprints)} {blueprint.arch_id} {data}: {line['seconds']:.1f}s", flush=True)


MIN_BLUEPRINTS = 10  # grouped 5-fold CV below this leaves folds of one or two blueprints


def hiera_section(reference: Path, protocol: SignalProtocol, folds: int) -> dict[str, Any]:
    """Grouped CV of the predictor and the tau of every single signal, for both kinds of proxy batch."""
    records = read_jsonl(reference, "reference set", "") if reference.is_file() else []
    blueprints = len({r["arch_id"] for r in records})
    shown = reference.resolve().relative_to(HERE.parent) if reference.resolve().is_relative_to(HERE.parent) else reference
    section: dict[str, Any] = {"reference": str(shown), "trainings": len(records), "blueprints": blueprints,
                               "ceiling": summarize(records).get("seed_tau") if records else None, "batches": {}}
    if blueprints < 4:
        section["note"] = f"{blueprints} blueprint(s) trained so far: too few for any tau"
        return section
    if blueprints < MIN_BLUEPRINTS:
        section["note"] = (f"only {blueprints} blueprints trained so far (< {MIN_BLUEPRINTS}): no cross-validation; "
                           "single-signal taus only, with wide intervals")
    for data in (NOISE, REFERENCE_DATA):
        section["batches"][data] = _hiera_batch(reference, data, protocol, folds if blueprints >= MIN_BLUEPRINTS else 0)
    return section


def _hiera_batch(reference: Path, data: str, protocol: SignalProtocol, folds: int) -> dict[str, Any]:
    """Taus of the predictor variants (when `folds`) and of each signal, proxies measured on `data`."""
    table = load_reference_table(reference, FEATURES, data, protocol, first_epoch=True)
    truth = per_group(table.targets, table.groups)
    keys = sorted(truth)
    signals = {name: per_group([row[f"signal.{name}"] for row in table.rows], table.groups)
               for name in (*protocol.proxies, FIRST_EPOCH)}
    result: dict[str, Any] = {"signals": {name: _tau(values, truth, keys) for name, values in signals.items()}}
    if folds:
        zero_cost = [{k: v for k, v in row.items() if k != f"signal.{FIRST_EPOCH}"} for row in table.rows]
        for variant, rows, make in _variants(zero_cost, table.rows):
            oos = cross_validate(rows, table.targets, table.groups, folds=min(folds, len(keys)), make=make)
            predicted = per_group(oos.mean, table.groups)
            result[variant] = {**oos.tau, "folds": oos.folds, "predicted": [predicted[k] for k in keys],
                               "truth": [truth[k] for k in keys]}
    return result


ENSEMBLE_SIZES = (1, 2, 5)  # beside the shipped k=3: how much its one choice matters; k=1 is the best single
# signal chosen on the training folds, i.e. a single signal judged out of sample like the learned ones


def _variants(zero_cost: list[dict[str, float]], with_epoch1: list[dict[str, float]]) -> list[tuple[str, list, Any]]:
    """(name, rows, regressor factory) of every learned signal judged out of sample on the Hiera set."""
    variants = [("predictor", zero_cost, AccuracyPredictor), ("predictor + epoch-1 top-1", with_epoch1, AccuracyPredictor),
                ("ensemble", zero_cost, RankEnsemble)]
    return variants + [(f"ensemble, k={k}", zero_cost, lambda k=k: RankEnsemble(k)) for k in ENSEMBLE_SIZES]


def _tau(values: dict[str, float], truth: dict[str, float], keys: list[str]) -> dict[str, float]:
    """Tau [CI] of one per-blueprint signal against the truth, over the blueprints where it is finite."""
    kept = [k for k in keys if math.isfinite(values[k])]
    return kendall_with_interval([values[k] for k in kept], [truth[k] for k in kept])


def calibration_section(path: Path, folds: int) -> dict[str, Any]:
    """The stand-in Hiera set until the reference set is trained: `gas calibrate`'s 36 blueprints,
    3 epochs on cifar10-mini (noisy: ~1.6 points standard error), with the proxies it recorded.

    Its records keep the blueprint only as `describe()` text; the numbers it shows (patch stride,
    mask unit, Q-pooling, per-stage depth/width/heads/attention) are the blueprint dict encoded here.
    """
    if not path.is_file():
        return {"note": f"{path} not found"}
    summary = json.loads(path.read_text())
    chosen = [r for r in summary["candidates"] if r.get("val_top1") is not None]
    rows = [candidate_features(_described(r["blueprint"]), r["proxies"]) for r in chosen]
    truth, groups = [r["val_top1"] for r in chosen], [r["arch_id"] for r in chosen]
    oos = cross_validate(rows, truth, groups, folds=folds)
    signals = {name: _tau({r["arch_id"]: r["proxies"].get(name, math.nan) for r in chosen}, dict(zip(groups, truth)),
                          groups) for name in summary["config"]["proxies"]}
    return {"calibration": path.name, "networks": len(chosen), "config": summary["config"],
            "predictor": {**oos.tau, "folds": folds, "predicted": oos.mean.tolist(), "truth": truth}, "signals": signals}


def _described(text: str) -> dict[str, Any]:
    """The blueprint dict a `Blueprint.describe()` line shows, e.g. `32px p2 mu2 qp1: 1x48/3h* | 3x96/6h`."""
    head = re.fullmatch(r"(\d+)px p(\d+) mu(\d+) qp(\d+): (.*)", text)
    if head is None:
        raise ValueError(f"not a blueprint description: {text!r}")
    stages = [{"depth": int(depth), "dim": int(dim), "heads": int(heads), "mask_unit_attn": bool(star)}
              for depth, dim, heads, star in re.findall(r"(\d+)x(\d+)/(\d+)h(\*?)", head.group(5))]
    img_size, patch_stride, mask_unit_size, q_pool = map(int, head.groups()[:4])
    return {"img_size": img_size, "patch_stride": patch_stride, "mask_unit_size": mask_unit_size, "q_pool": q_pool,
            "stages": stages}


def calibration_markdown(section: dict[str, Any]) -> list[str]:
    """The stand-in table: predictor and every proxy on the calibration set."""
    lines = ["## Stand-in Hiera set until the reference set is trained: the calibration set", ""]
    if "note" in section:
        return lines + [section["note"], ""]
    config = section["config"]
    lines += [(f"`gas calibrate`'s {section['networks']} blueprints ({config['epochs']} epochs on cifar10-mini, "
               "932 val images: about 1.6 points of standard error per accuracy, so a low ceiling), proxies as it "
               f"recorded them (batch {config['proxy_batch']}, real images); grouped 5-fold."), "",
              "| signal | Kendall tau [95% CI] |", "|---|---|", f"| predictor | {_interval(section['predictor'])} |"]
    lines += [f"| {name} | {_interval(tau)} |" for name, tau in section["signals"].items()]
    return lines + [""]


def autoformer_cost(arch: dict[str, Any], img_size: int = 224, patch: int = 16, classes: int = 100) -> tuple[int, int]:
    """Closed-form params and MACs (one image) of an AutoFormer-Ti sub-network, a plain ViT.

    AutoFormer's convention: a layer with h heads has q/k/v width 64 h (its `change_qkv`), the MLP
    hidden width is int(dim * mlp_ratio); a class token, learned position embeddings, a linear head.
    Its relative-position tables (a few thousand parameters) are left out. 1 MAC = one multiply-add.
    """
    dim, tokens = arch["hidden_dim"], (img_size // patch) ** 2 + 1  # patches + class token
    params = 3 * patch * patch * dim + dim + dim + tokens * dim + 2 * dim + dim * classes + classes
    macs = (tokens - 1) * 3 * patch * patch * dim + dim * classes
    for heads, ratio in zip(arch["num_heads"], arch["mlp_ratio"]):
        qkv, hidden = 64 * heads, int(dim * ratio)
        params += 4 * dim + (dim + 1) * 3 * qkv + (qkv + 1) * dim + (dim + 1) * hidden + (hidden + 1) * dim
        macs += tokens * dim * 3 * qkv + 2 * tokens * tokens * qkv + tokens * qkv * dim + 2 * tokens * dim * hidden
    return params, macs


AUTOFORMER_SIGNALS = {  # single signals of the table: costs, arch fields, and the supernet's inherited top-1
    "params": lambda e: autoformer_cost(e["arch"])[0], "macs": lambda e: autoformer_cost(e["arch"])[1],
    "depth": lambda e: e["arch"]["depth"], "hidden_dim": lambda e: e["arch"]["hidden_dim"],
    "heads (sum)": lambda e: sum(e["arch"]["num_heads"]), "mlp_ratio (sum)": lambda e: sum(e["arch"]["mlp_ratio"]),
    "supernet top-1 (ImageNet, inherited; not a gas signal)": lambda e: e["imagenet_super_acc"],
}


def autoformer_section(path: Path, folds: int) -> dict[str, Any]:
    """5-fold CV of the predictor on the arch dicts + closed-form costs, for both CIFAR-100 targets."""
    if not path.is_file():
        return {"note": f"{path} not found (the shared data folder is absent)"}
    entries = json.loads(path.read_text())
    section: dict[str, Any] = {"table": path.name, "targets": {}}
    for target in ("c100_kd_acc", "c100_base_acc"):
        chosen = [e for e in entries if e.get(target) is not None]
        rows = [candidate_features(e["arch"], dict(zip(("params", "macs"), autoformer_cost(e["arch"]))))
                for e in chosen]
        truth, groups = [e[target] for e in chosen], [str(i) for i in range(len(chosen))]
        oos = cross_validate(rows, truth, groups, folds=folds)
        section["targets"][target] = {
            "networks": len(chosen), "range": [min(truth), max(truth)],
            "predictor": {**oos.tau, "folds": folds, "predicted": oos.mean.tolist(), "truth": truth},
            "signals": {name: kendall_with_interval([signal(e) for e in chosen], truth)
                        for name, signal in AUTOFORMER_SIGNALS.items()},
            "regressors": _regressor_comparison(rows, truth, groups, folds),
        }
    return section


def _regressor_comparison(rows: list[dict[str, float]], truth: list[float], groups: list[str],
                          folds: int) -> dict[str, dict[str, float]]:
    """Out-of-sample tau (with interval) of the shipped forest's alternatives, on the same grouped
    folds as the forest: the development choice."""
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingRegressor,
        HistGradientBoostingRegressor,
    )

    candidates = {
        "extra trees": lambda: ExtraTreesRegressor(300, min_samples_leaf=2, max_features=0.5, random_state=0),
        "gradient boosting (sklearn defaults)": lambda: GradientBoostingRegressor(random_state=0),
        "gradient boosting (lr 0.03, 300 rounds, depth 2, subsample 0.7)": lambda: GradientBoostingRegressor(
            learning_rate=0.03, n_estimators=300, max_depth=2, subsample=0.7, random_state=0),
        "histogram gradient boosting (LightGBM-style)": lambda: HistGradientBoostingRegressor(random_state=0),
    }
    taus = {name: cross_validate(rows, truth, groups, folds=folds, make=lambda make=make: _Sklearn(make())).tau
            for name, make in candidates.items()}
    taus["rank ensemble (k=3; its only signals here are params and MACs)"] = cross_validate(
        rows, truth, groups, folds=folds, make=RankEnsemble).tau
    return taus


class _Sklearn:
    """A scikit-learn regressor behind the predictor's fit / predict (rows of named features; no
    uncertainty, so its std is 0)."""

    def __init__(self, estimator: Any):
        self.estimator, self.columns = estimator, []

    def fit(self, rows: list[dict[str, float]], targets: list[float]) -> _Sklearn:
        self.columns = sorted({name for row in rows for name in row})
        self.estimator.fit(self._matrix(rows), np.asarray(targets))
        return self

    def predict(self, rows: list[dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        mean = self.estimator.predict(self._matrix(rows))
        return mean, np.zeros_like(mean)

    def _matrix(self, rows: list[dict[str, float]]) -> np.ndarray:
        return np.array([[row.get(c, 0.0) for c in self.columns] for row in rows])  # [rows, features]


def _interval(tau: dict[str, Any] | None) -> str:
    if not tau:
        return "n/a"
    if math.isnan(tau.get("low", math.nan)):
        return f"{tau['tau']:.3f} (n={tau['n']})"
    return f"{tau['tau']:.3f} [{tau['low']:.3f}, {tau['high']:.3f}]"


def hiera_markdown(section: dict[str, Any]) -> list[str]:
    """The Hiera reference-set table: predictor variants first, then every single signal."""
    lines = ["## Hiera reference set (Fashion-MNIST, 30 epochs)", "",
             (f"{section['trainings']} trainings of {section['blueprints']} blueprints in `{section['reference']}`. "
             "Truth: a blueprint's final val top-1, averaged over its seeds; grouped k-fold by arch_id; "
             "tau [bootstrap 95% interval] over blueprints."), ""]
    if section.get("ceiling"):
        lines += [f"Seed-to-seed tau (the ceiling of any signal): {_interval(section['ceiling'])}.", ""]
    if section.get("note"):
        lines += [f"**{section['note']}.**", ""]
    batches = section["batches"]
    if not batches:
        return lines
    names = [name for name, _, _ in _variants([], []) if name in batches[NOISE]]
    names += list(batches[NOISE]["signals"])
    rows = [f"| {name} | " + " | ".join(_interval(batches[d].get(name) or batches[d]["signals"].get(name))
                                        for d in (NOISE, REFERENCE_DATA)) + " |" for name in names]
    return lines + ["| signal | proxies on noise | proxies on Fashion-MNIST |", "|---|---|---|", *rows, ""]


def autoformer_markdown(section: dict[str, Any]) -> list[str]:
    """The AutoFormer table: the predictor, each single signal, and the regressor comparison."""
    lines = ["## AutoFormer table (ViT-Bench-101, CIFAR-100, 300 epochs; space-independent part only)", ""]
    if "note" in section:
        return lines + [section["note"], ""]
    lines += [("Features: the arch dict's encoding (hidden_dim, depth, per-layer heads and MLP ratios, their sums, "
              "means, min, max) + closed-form params and MACs (224 px, patch 16, q/k/v width 64 x heads). "
              "Plain 5-fold (one network per group)."), ""]
    targets = section["targets"]
    header = "| signal | " + " | ".join(f"{t} (n={v['networks']}, {v['range'][0]:.2f}-{v['range'][1]:.2f})"
                                        for t, v in targets.items()) + " |"
    names = ["predictor", *next(iter(targets.values()))["signals"]]
    rows = [f"| {name} | " + " | ".join(_interval(v["predictor"] if name == "predictor" else v["signals"][name])
                                        for v in targets.values()) + " |" for name in names]
    lines += [header, "|---|" + "---|" * len(targets), *rows, "",
              "Regressor choice (development, this table, the same folds; tau [95% interval]):", "",
              "| regressor | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets),
              "| random forest (shipped: 300 trees, min leaf 2, max features 0.5) | "
              + " | ".join(f"{v['predictor']['tau']:.3f}" for v in targets.values()) + " |"]
    for name in next(iter(targets.values()))["regressors"]:
        lines.append(f"| {name} | " + " | ".join(_interval(v["regressors"][name]) for v in targets.values()) + " |")
    return lines + [""]


def plot(hiera: dict[str, Any], calibration: dict[str, Any], autoformer: dict[str, Any], path: Path) -> None:
    """Out-of-sample predicted vs true val top-1: Hiera (Fashion-MNIST proxies), the stand-in, AutoFormer (kd)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("Hiera reference set", hiera["batches"].get(REFERENCE_DATA, {}).get("predictor")),
              ("Hiera calibration set (stand-in)", calibration.get("predictor")),
              ("AutoFormer c100_kd_acc", autoformer.get("targets", {}).get("c100_kd_acc", {}).get("predictor"))]
    panels = [(title, data) for title, data in panels if data]
    if not panels:
        return
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    for axis, (title, data) in zip(axes[0], panels):
        axis.scatter(data["truth"], data["predicted"], s=14, alpha=0.7)
        axis.set_xlabel("true val top-1")
        axis.set_ylabel("predicted (out of sample)")
        axis.set_title(f"{title}: tau {_interval(data)}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(hiera: dict[str, Any], calibration: dict[str, Any], autoformer: dict[str, Any],
                 protocol: SignalProtocol) -> None:
    """predictor.{md,json,png} in benchmarks/results."""
    summary = {"protocol": vars(protocol) | {"proxies": list(protocol.proxies)}, "hiera": hiera,
               "calibration": calibration, "autoformer": autoformer}
    (RESULTS / "predictor.json").write_text(json.dumps(summary, indent=1) + "\n")
    head = ["# Learned accuracy predictor, judged out of sample", "",
            ("`python benchmarks/predictor.py` (`--features` first measures the reference blueprints' signals). "
            "`predictor`: a random forest (evaluators/predictor) over the blueprint's numbers and its zero-cost "
            f"signals (every proxy, params, MACs; batch {protocol.batch_size}, seed {protocol.seed}). `ensemble`: "
            "the mean rank of the k=3 signals that rank the training networks best (evaluators/predictor/"
            "rank_ensemble.py), with k=1, 2 and 5 beside it (k=1: the best single signal chosen on the training folds, "
            "so a single signal judged out of sample; the rows of single signals below are each picked after seeing "
            "all of them). Every learned figure is out of sample: no network is predicted by a model that saw it."), ""]
    text = "\n".join(head + hiera_markdown(hiera) + calibration_markdown(calibration) + autoformer_markdown(autoformer))
    (RESULTS / "predictor.md").write_text(text)
    plot(hiera, calibration, autoformer, RESULTS / "predictor.png")
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", action="store_true", help="measure the signals of uncached reference blueprints")
    parser.add_argument("--reference", type=Path, default=REFERENCE_JSONL, help="the reference set's JSONL")
    parser.add_argument("--autoformer", type=Path, default=AUTOFORMER)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    protocol = SignalProtocol()
    if args.features:
        measure_features(protocol)
        return
    write_report(hiera_section(args.reference, protocol, args.folds), calibration_section(CALIBRATION, args.folds),
                 autoformer_section(args.autoformer, args.folds), protocol)


if __name__ == "__main__":
    main()
