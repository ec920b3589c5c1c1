"""A second search space, registered from test code only, goes wherever `hiera` goes.

`toy_vit` (toy_vit_space.py: a plain one-stage ViT) is priced, evaluated, searched through Ray Tune,
shown and exported by the code that serves `hiera`, with no line of gas/ naming it: the space
interface is all the search and the exports know of a space.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys

import pytest
import torch
import toy_vit_space  # registers the space, as importing a plug-in would
from pydantic import ValidationError

from evaluators import EvalContext, get_evaluator
from evaluators.flops import traced_macs
from gas.cli import main
from gas.export import export_best, export_file, refresh
from gas.orchestrate import search
from gas.runs import load_pareto
from gas.trial import evaluate_candidate
from gas_kernel.errors import GasError
from search_spaces import (
    SearchSpace,
    get_space,
    list_presets,
    list_spaces,
    register_space,
)

OPTIONS = {"img_size": 32, "num_classes": 10}


@pytest.fixture(scope="module")
def space():
    return get_space("toy_vit", **OPTIONS)


def test_the_space_is_registered_with_its_presets(space, capsys):
    assert "toy_vit" in list_spaces() and list_presets()["toy_vit_tiny"] == "toy_vit"
    assert list_presets()["turbovit_ref"] == "hiera"
    assert main(["cost", "--space", "toy_vit", "--img-size", "32"]) == 0
    assert "toy_vit_tiny" in capsys.readouterr().out


def test_a_space_must_name_its_blueprint_type_and_model_code():
    class Bare(SearchSpace):
        sample = cost = preset_names = preset = None

    with pytest.raises(TypeError, match="blueprint_type"):
        register_space("bare")(Bare)
    Bare.blueprint_type = toy_vit_space.ToyViTBlueprint
    with pytest.raises(TypeError, match="model_code"):
        register_space("bare")(Bare)
    assert "bare" not in list_spaces()


def test_a_plain_blueprint_file_is_exported_with_the_space_named(space, tmp_path):
    path = tmp_path / "toy.json"
    path.write_text(space.preset("toy_vit_tiny").model_dump_json())
    with pytest.raises(ValidationError):
        export_file(path, out_dir=tmp_path / "out")  # read as the default space's blueprint
    exported = export_file(path, out_dir=tmp_path / "out", space="toy_vit")
    assert json.loads(exported.with_suffix(".json").read_text())["space"] == "toy_vit"
    with pytest.raises(GasError, match="export of space 'toy_vit'"):
        export_file(exported.with_suffix(".json"), name="again", out_dir=tmp_path / "out", space="hiera")


def test_its_analytic_cost_is_exact(space):
    for seed in range(4):
        blueprint = space.random(seed)
        model, cost = space.build(blueprint), space.cost(blueprint)
        assert cost.params == sum(p.numel() for p in model.parameters())
        assert cost.macs == traced_macs(model, torch.zeros(1, 3, 32, 32))


def test_the_evaluators_score_it(space):
    blueprint = space.preset("toy_vit_tiny")
    evaluators = [get_evaluator("params"), get_evaluator("grad_norm")]
    metrics = evaluate_candidate(space, blueprint, evaluators, EvalContext(batch_size=4, threads=1, space=space))
    assert metrics["params"] == space.cost(blueprint).params
    assert metrics["grad_norm"] > 0


@pytest.fixture(scope="module")
def searched(ray_cluster, tmp_path_factory):
    toy_vit_space.ship_by_value()
    runs_dir = tmp_path_factory.mktemp("runs")
    result = search(space="toy_vit", space_options=OPTIONS, budgets={"flops": "2M"}, trials=3, run="toy",
                    runs_dir=runs_dir, progress=False, batch_size=4)
    return result, runs_dir


def test_it_is_searched_within_budget(searched, capsys):
    result, runs_dir = searched
    assert result.evaluations == 3
    assert json.loads((result.run_dir / "config.json").read_text())["space"] == "toy_vit"
    _, entries = load_pareto(result.run_dir)
    assert entries and all(isinstance(e.blueprint, toy_vit_space.ToyViTBlueprint) for e in entries)
    assert all(0 < e.cost.macs <= 2e6 and e.metrics["macs"] == e.cost.macs for e in entries)
    assert main(["show", "toy", "--runs-dir", str(runs_dir)]) == 0
    assert entries[0].blueprint.describe() in capsys.readouterr().out


def test_its_pick_is_exported_as_its_own_model_code(searched, space, tmp_path):
    _, runs_dir = searched
    path = export_best(run="toy", runs_dir=runs_dir, name="toy_best", out_dir=tmp_path)
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["space"] == "toy_vit" and record["cost"]["params"] == space.cost(space.parse(record["blueprint"])).params
    roots = {
        (alias.name if isinstance(node, ast.Import) else node.module).split(".")[0]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert roots <= {"torch", "timm"}
    exported, built = _load(path).toy_best(), _seeded_build(space, space.parse(record["blueprint"]))
    exported.load_state_dict(built.state_dict())
    pixels = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(exported.eval()(pixels), built(pixels))
    assert refresh(out_dir=tmp_path) == []  # the record names its space: regenerating gives the same bytes


def _seeded_build(space, blueprint) -> torch.nn.Module:
    torch.manual_seed(0)
    return space.build(blueprint)


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
