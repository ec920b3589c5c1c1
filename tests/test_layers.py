"""The package graph reads bottom-up, and `lint-imports` enforces it (contracts in setup.cfg).

    gas (the CLI over the search)  ->  search_spaces | evaluators  ->  gas_kernel

A linter run alone could pass on a contract that checks nothing, so the contracts' layers are
asserted as well, and copies of the tree with one wrong-way import each must break them.
"""

from __future__ import annotations

import ast
import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gas", "gas_kernel", "search_spaces", "evaluators", "generated_archs")
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def lint(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the tree at `root` (its setup.cfg), in a fresh interpreter started there."""
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, capture_output=True, text=True, timeout=300, check=False)


def contracts() -> dict[str, dict[str, str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    prefix = "importlinter:contract:"
    return {name[len(prefix):]: dict(config[name]) for name in config.sections() if name.startswith(prefix)}


def test_the_tree_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contracts())} kept, 0 broken." in result.stdout


def test_the_contracts_state_the_intended_layers():
    found = contracts()
    assert found["layers"]["layers"].split() == ["gas", "search_spaces", "|", "evaluators", "gas_kernel"]
    inside = found["gas-layers"]
    assert inside["containers"] == "gas" and inside["exhaustive"] == "true"
    assert inside["layers"].split()[:2] == ["cli", "commands"]
    assert {"search_spaces.*", "evaluators.proxies", "evaluators.builtin"} <= set(found["registries"]["forbidden_modules"].split())
    assert set(found["standalone-exports"]["forbidden_modules"].split()) == {"gas", "gas_kernel", "search_spaces", "evaluators"}


WRONG_WAY = {  # file, the import appended to it, the contract it breaks
    "kernel imports a space": ("gas_kernel/cost.py", "import search_spaces", "layers"),
    "space imports the search": ("search_spaces/base.py", "import gas.runs", "layers"),
    "evaluator imports a space": ("evaluators/base.py", "import search_spaces", "layers"),
    "search imports a command": ("gas/runs.py", "import gas.commands.show", "gas-layers"),
    "search names a space": ("gas/export.py", "import search_spaces.hiera", "registries"),
    "export imports gas": ("generated_archs/__init__.py", "import gas_kernel.errors", "standalone-exports"),
}


@pytest.mark.parametrize("case", WRONG_WAY)
def test_a_wrong_way_import_breaks_its_contract(case, tmp_path):
    path, line, contract = WRONG_WAY[case]
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    with (tmp_path / path).open("a") as handle:
        handle.write(f"\n{line}  # noqa\n")
    result = lint(tmp_path)
    report = " ".join(result.stdout.split())  # contract names wrap at the terminal width
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contracts()[contract]['name']} BROKEN" in report and "1 broken" in report, result.stdout


def test_no_module_outside_search_spaces_names_a_space():
    """The space is a name in a config or on the command line, never a literal in gas's code."""
    for package in ("gas", "gas_kernel", "evaluators"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    assert node.value != "hiera" and "search_spaces.hiera" not in node.value, path
