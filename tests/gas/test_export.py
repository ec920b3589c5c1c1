"""Exported files are the model: same parameters and outputs in a fresh interpreter, torch only.

One subprocess loads every exported file (with timm, gas and search_spaces made unimportable, so a
file that leans on them fails) and saves parameter names, shapes, a weight digest and outputs;
the parent compares them with `space.build(bp)` built from the same seed.
"""

from __future__ import annotations

import ast
import hashlib
import json
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gas
from gas.codegen import ExportRecord, model_source, render_model_file
from gas.export import export_blueprint, export_file, export_preset, to_onnx
from search_spaces import get_space
from search_spaces.hiera.model import Hiera

NUM_RANDOM = 20
MAX_RANDOM_PARAMS = 1_000_000  # keeps 20 models fast on CPU; the first seeds under it are used
SMALL = 5  # a seed of get_space("hiera", img_size=32, num_classes=10) with a 0.4M-param blueprint
SMALL_PRESETS = ("hiera_tiny", "turbovit_ref")  # outputs compared at 64px
HIERA = get_space("hiera")
PROBE = r"""
import hashlib, importlib.util, json, sys
for blocked in ("timm", "gas", "search_spaces", "generated_archs"):
    sys.modules[blocked] = None  # an exported file must stand alone
import torch

manifest = json.loads(open(sys.argv[1]).read())
results = {}
for item in manifest:
    spec = importlib.util.spec_from_file_location(item["name"], item["file"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[item["name"]] = module
    spec.loader.exec_module(module)
    torch.manual_seed(item["seed"])
    if item["meta"]:
        with torch.device("meta"):
            model = getattr(module, item["name"])()
    else:
        model = getattr(module, item["name"])().eval()
    result = {"params": [(n, tuple(p.shape)) for n, p in model.named_parameters()]}
    if not item["meta"]:
        digest = hashlib.sha256()
        for tensor in model.state_dict().values():
            digest.update(tensor.numpy().tobytes())
        pixels = torch.randn(2, 3, item["img_size"], item["img_size"], generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            result.update(digest=digest.hexdigest(), logits=model(pixels))
    results[item["name"]] = result
torch.save(results, sys.argv[2])
"""


def random_blueprints() -> list:
    space = get_space("hiera", img_size=32, num_classes=10)
    picked, seed = [], 0
    while len(picked) < NUM_RANDOM:
        blueprint = space.random(seed)
        if space.cost(blueprint).params <= MAX_RANDOM_PARAMS:
            picked.append((f"random_{seed}", blueprint))
        seed += 1
    return picked


def cases() -> list[dict]:
    """name, blueprint and whether only the parameters are compared (large presets, on 'meta')."""
    space = get_space("hiera", img_size=64, num_classes=10)
    items = [{"name": n, "bp": bp, "meta": False} for n, bp in random_blueprints()]
    for preset in space.preset_names():
        items.append(
            {"name": f"preset_{preset}", "bp": space.preset(preset), "meta": preset not in SMALL_PRESETS}
        )
    return items


def state_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def probed(tmp_path_factory) -> tuple[list[dict], dict]:
    """Export every case, load all files in one fresh interpreter, return (cases, its results)."""
    out = tmp_path_factory.mktemp("exported")
    items = cases()
    manifest = []
    for seed, item in enumerate(items):
        item["seed"] = seed
        item["file"] = str(export_blueprint(item["bp"], item["name"], out))
        manifest.append(
            {k: item[k] for k in ("name", "file", "seed", "meta")} | {"img_size": item["bp"].img_size}
        )
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "probe.py").write_text(PROBE)
    subprocess.run(
        [sys.executable, str(out / "probe.py"), str(out / "manifest.json"), str(out / "results.pt")],
        check=True,
        cwd=out,
        timeout=300,
    )
    return items, torch.load(out / "results.pt")


def build_reference(item: dict) -> torch.nn.Module:
    torch.manual_seed(item["seed"])
    if item["meta"]:
        with torch.device("meta"):
            return Hiera(**item["bp"].model_kwargs())
    return get_space("hiera").build(item["bp"])


def test_exported_files_match_the_in_memory_model(probed):
    items, results = probed
    assert len([i for i in items if not i["meta"]]) >= NUM_RANDOM + len(SMALL_PRESETS)
    for item in items:
        reference, result = build_reference(item), results[item["name"]]
        expected = [(n, tuple(p.shape)) for n, p in reference.named_parameters()]
        assert result["params"] == expected, item["name"]
        assert (
            sum(torch.Size(s).numel() for _, s in result["params"])
            == get_space("hiera").cost(item["bp"]).params
        )
        if item["meta"]:
            continue
        assert result["digest"] == state_digest(reference), f"{item['name']}: same seed, different weights"
        size = item["bp"].img_size
        pixels = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            assert torch.equal(result["logits"], reference(pixels)), item["name"]


def test_exported_hiera_tiny_loads_timm_weights_and_gives_timm_logits(tmp_path):
    timm = pytest.importorskip("timm")
    path = export_preset("hiera_tiny", name="exported_hiera_tiny", out_dir=tmp_path)
    module = load_module(path)
    reference = timm.create_model("hiera_tiny_224").eval()  # random init: no downloads
    model = module.exported_hiera_tiny().eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    pixels = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        difference = (model(pixels) - reference(pixels)).abs().max().item()
    assert difference < 1e-4


def test_exported_file_compiles_and_imports_only_torch(tmp_path):
    space = get_space("hiera", img_size=32, num_classes=10)
    path = export_blueprint(space.random(SMALL), "tiny_net", tmp_path)
    py_compile.compile(str(path), doraise=True)
    tree = ast.parse(path.read_text())
    guarded = {
        id(node)
        for t in ast.walk(tree)
        if isinstance(t, ast.Try) and _catches_import_error(t)
        for stmt in t.body
        for node in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            roots = {
                (a.name if isinstance(node, ast.Import) else node.module).split(".")[0] for a in node.names
            }
            for root in roots:
                if root == "timm":
                    assert id(node) in guarded, "timm must be imported inside try/except ImportError"
                else:
                    assert root == "torch" or root in sys.stdlib_module_names, f"imports {root}"
    imported = {
        (alias.name if isinstance(node, ast.Import) else node.module).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"torch", "timm", "math", "typing", "collections"}


def _catches_import_error(node: ast.Try) -> bool:
    return any(isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers)


def test_export_is_byte_identical(tmp_path):
    space = get_space("hiera", img_size=32, num_classes=10)
    metadata = {"metrics": {"synflow": 123.456789123, "latency_ms": 1.5}, "budgets": {"flops": "1G"}}
    first = export_blueprint(space.random(SMALL), "same", tmp_path / "a", metadata)
    second = export_blueprint(space.random(SMALL), "same", tmp_path / "b", metadata)
    for suffix in (".py", ".json"):
        assert first.with_suffix(suffix).read_bytes() == second.with_suffix(suffix).read_bytes()
    third = export_blueprint(space.random(SMALL), "same", tmp_path / "a", metadata, force=True)
    assert third.read_bytes() == second.read_bytes()


def test_file_reads_top_down_with_header_constants_and_constructor(tmp_path):
    blueprint = get_space("hiera", img_size=64).preset("turbovit_ref")
    metadata = {
        "metrics": {"synflow": 12.5},
        "budgets": {"flops": 2.2e9, "params": 12.7e6},
        "search_command": "gas search --budget flops=2.2G",
    }
    text = export_blueprint(blueprint, "turbo", tmp_path, metadata).read_text()
    docstring = ast.get_docstring(ast.parse(text))
    for expected in (
        blueprint.describe(),
        blueprint.arch_id,
        "flops=2.2G",
        "params=12.7M",
        "synflow=12.5",
        "gas search --budget flops=2.2G",
        "from generated_archs.turbo import turbo",
        'timm.create_model("turbo"',
        "GMACs",
    ):
        assert expected in docstring
    order = [
        text.index(s)
        for s in (
            "import torch",
            "def unroll",
            "class MaskUnitAttention",
            "class HieraBlock",
            "class Hiera(",
            "MODEL_ARGS = {",
            "def turbo(",
            "def _register_with_timm",
        )
    ]
    assert order == sorted(order)
    assert '\n    "depths": (1, 2, 8, 2),\n' in text  # one key per line
    assert model_source(HIERA) in text  # the one implementation, verbatim


def test_header_says_not_trained_unless_an_accuracy_was_measured(tmp_path):
    blueprint = get_space("hiera", img_size=32, num_classes=10).random(SMALL)

    def accuracy_line(metrics):
        docstring = ast.get_docstring(ast.parse(export_blueprint(blueprint, "acc", tmp_path, {"metrics": metrics},
                                                                 force=True).read_text()))
        return " ".join(docstring.split("Accuracy:", 1)[1].split("Source:", 1)[0].split())

    assert accuracy_line({"grad_norm": 3.5}).startswith("not trained: no accuracy was measured")
    assert accuracy_line({"predictor": 0.86}).startswith("not trained")  # a prediction is not a measurement
    assert accuracy_line({"val_top1": 0.4321, "epochs": 3}).startswith(
        "val top-1 0.4321 after the search's short training (3 epoch(s) of --proxy train)")


def test_generated_lines_fit_110_columns(tmp_path):
    blueprint = get_space("hiera", img_size=32, num_classes=10).random(SMALL)
    metadata = {
        "search_command": "gas search " + " ".join(f"--budget x{i}=1G" for i in range(30)),
        "metrics": {f"metric_{i}": i / 7 for i in range(20)},
    }
    text = export_blueprint(
        blueprint, "a_rather_long_model_name_for_wrapping_the_header", tmp_path, metadata
    ).read_text()
    widest_model_line = max(map(len, model_source(HIERA).splitlines()))
    assert max(map(len, text.splitlines())) <= max(110, widest_model_line)
    generated = text.replace(model_source(HIERA), "")
    assert max(map(len, generated.splitlines())) <= 110


def test_ruff_format_leaves_the_file_alone_when_the_model_code_is_formatted(tmp_path):
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed")
    source = tmp_path / "model_source.py"
    source.write_text(model_source(HIERA))
    if subprocess.run(
        [ruff, "format", "--check", "--line-length", "110", str(source)], capture_output=True, check=False
    ).returncode:
        pytest.skip("search_spaces/hiera/model.py itself is not ruff-formatted at 110 columns")
    path = export_preset("turbovit_ref", img_size=64, out_dir=tmp_path)
    result = subprocess.run(
        [ruff, "format", "--check", "--line-length", "110", str(path)], capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout.decode()


def test_untrusted_text_cannot_escape_the_docstring(tmp_path):
    blueprint = get_space("hiera", img_size=32, num_classes=10).random(SMALL)
    evil = '"""\nimport os; os.system("echo pwned")\n"""\\N{x}'
    metadata = {"metrics": {evil: evil}, "search_command": evil, "source": {"run": evil}}
    path = export_blueprint(blueprint, "evil", tmp_path, metadata)
    tree = ast.parse(path.read_text())
    assert 'os.system("echo pwned")' in ast.get_docstring(tree)
    assert not any(isinstance(n, ast.Import) and n.names[0].name == "os" for n in ast.walk(tree))


def test_constructor_takes_overrides_and_refuses_pretrained(tmp_path):
    blueprint = get_space("hiera", img_size=32, num_classes=10).random(SMALL)
    module = load_module(export_blueprint(blueprint, "overridable", tmp_path))
    model = module.overridable(num_classes=3, drop_path_rate=0.1, pretrained_cfg=None, cache_dir=None)
    assert model.eval()(torch.zeros(1, 3, 32, 32)).shape == (1, 3)
    assert module.MODEL_ARGS == blueprint.model_kwargs()
    with pytest.raises(ValueError, match="no pretrained weights"):
        module.overridable(pretrained=True)


def test_export_file_accepts_blueprints_and_export_records(tmp_path):
    blueprint = get_space("hiera", img_size=32, num_classes=10).random(SMALL)
    plain = tmp_path / "My Net.json"
    plain.write_text(blueprint.model_dump_json())
    first = export_file(plain, out_dir=tmp_path / "out")
    assert first.name == "my_net.py"
    origin = {"kind": "run", "run": "r1", "trial": 3}
    metadata = {"metrics": {"synflow": 2.0}, "search_command": "gas search", "source": origin}
    record_path = export_blueprint(blueprint, "kept", tmp_path / "rec", metadata).with_suffix(".json")
    again = export_file(record_path, name="again", out_dir=tmp_path / "out")
    record = json.loads(again.with_suffix(".json").read_text())
    assert record["blueprint"] == blueprint.model_dump(mode="json")
    assert record["metrics"] == {"synflow": 2.0} and record["search_command"] == "gas search"
    assert record["source"] == {"kind": "file", "file": str(record_path), "origin": origin}


def test_refresh_regenerates_from_records(tmp_path):
    from gas.export import refresh

    path = export_preset("turbovit_ref", img_size=64, out_dir=tmp_path)
    original = path.read_bytes()
    path.write_text("# edited by hand\n")
    assert refresh(out_dir=tmp_path) == [path]
    assert path.read_bytes() == original
    assert refresh(out_dir=tmp_path) == []


def test_record_round_trips(tmp_path):
    blueprint = get_space("hiera", img_size=32, num_classes=10).random(SMALL)
    path = export_blueprint(blueprint, "round", tmp_path, {"metrics": {"a": 1.0}})
    record = ExportRecord.from_dict(json.loads(path.with_suffix(".json").read_text()))
    assert render_model_file(record) == path.read_text()


def test_public_api_is_exported():
    assert gas.export_best.__module__ == gas.export_blueprint.__module__ == "gas.export"


def test_onnx_export_matches_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    blueprint = get_space("hiera", img_size=32, num_classes=10).random(SMALL)
    module = load_module(export_blueprint(blueprint, "deployable", tmp_path))
    difference = to_onnx(module.deployable(), tmp_path / "deployable.onnx", img_size=32)
    assert difference < 1e-4


def load_module(path: Path):
    """Import an exported file under its own name (as `import generated_archs.<name>` would)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
