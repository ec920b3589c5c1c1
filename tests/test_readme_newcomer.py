"""The README's Usage lines, as a newcomer runs them in a fresh clone (`pytest -m newcomer`, minutes).

The lines are read from README.md (the first ```bash block under "## Usage"), so the test follows
the README as it is. They run one by one, as written, in a copy of the repository's files (what a
clone of the working tree would hold: `git ls-files`, no runs/, no venv), with the project venv's
bin first on PATH (what `. .venv/bin/activate` in "Set up and run" does) and the copy first on
PYTHONPATH (so `gas export` writes into the copy's generated_archs/, as in a clone). Each must exit 0.

Substituted, because the line as written takes too long for a test or names a placeholder (each
substitution must still match a README line, so a changed README fails here until it is updated):
  * both `gas search` lines: 32 px, 10 classes, tiny budgets and 3 trials instead of 224 px and
    40-50 trials (the options are the same; only the sizes change);
  * `gas calibrate --data PATH --archs 36`: the shared CIFAR-10 subset (skipped where it is absent),
    3 architectures, 1 epoch of at most 20 s;
  * `gas bench ...`: one round at batch 1 and 2 (`--repeats 1 --batch 1,2`);
  * `gas show [RUN]`: run as `gas show` and `gas show turbo`.
Not run: "Set up and run" (a venv and `pip install`, minutes and a network), the Python block, and
the cluster section (it needs a cluster: tests/gas/test_cluster.py submits a real job).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.newcomer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "cifar10-mini"
SMALL = "--img-size 32 --num-classes 10 --trials 3 --batch-size 4"
REPLACED = {
    "gas search --space hiera --budget flops=1G": f"gas search --space hiera --budget flops=20M {SMALL}",
    "gas search --budget flops=2.1G,params=12.7M --objective proxy,latency --trials 40 --run turbo":
        f"gas search --budget flops=20M,params=2M --objective proxy,latency --run turbo {SMALL}",
    "gas calibrate --data PATH --archs 36": f"gas calibrate --data {DATA} --archs 3 --epochs 1 --proxy-batch 8 --time-limit 20",
    "gas show [RUN]": "gas show",
}
APPENDED = {"gas bench": "--repeats 1 --batch 1,2"}  # every `gas bench` line
EXTRA = {"gas show [RUN]": ["gas show turbo"]}


def usage_lines() -> list[str]:
    """The commands of the README's Usage block, comments stripped."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"^## Usage\n.*?```bash\n(.*?)```", text, flags=re.DOTALL | re.MULTILINE)
    assert block, "README.md has no ```bash block under ## Usage"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def as_run(line: str) -> list[str]:
    """The command lines a README line is run as (itself, or its documented substitution)."""
    first = REPLACED.get(line, line)
    if line.startswith("gas bench"):
        first = f"{line} {APPENDED['gas bench']}"
    return [first, *EXTRA.get(line, [])]


def fresh_clone(tmp: Path) -> Path:
    """The files a clone of this working tree would hold, copied to `tmp/gas`."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the repository's files")
    clone = tmp / "gas"
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    return clone


def test_every_substitution_still_matches_a_readme_line():
    lines = usage_lines()
    assert set(REPLACED) <= set(lines) and set(EXTRA) <= set(lines)
    assert any(line.startswith("gas bench") for line in lines)


@pytest.mark.timeout(3600)
def test_usage_lines_run_as_written_in_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("GAS_RUNS_DIR", "RAY_ADDRESS", "PYTHONPATH")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(clone))
    shipped = {p.name: p.read_bytes() for p in (clone / "generated_archs").iterdir() if p.is_file()}
    for line in usage_lines():
        if "calibrate" in line and not DATA.is_dir():
            continue  # a fresh clone without ../shared/data: nothing to calibrate on
        for command in as_run(line):
            started = time.monotonic()
            done = subprocess.run(shlex.split(command), cwd=clone, env=env, capture_output=True, text=True,
                                  timeout=900, check=False)
            print(f"{time.monotonic() - started:6.1f} s  {command}")  # shown with -s, or when the test fails
            assert done.returncode == 0, f"`{command}` (README: `{line}`) failed:\n{done.stderr[-3000:]}"
            assert "Traceback" not in done.stderr, f"`{command}`:\n{done.stderr[-3000:]}"
    assert (clone / "runs" / "turbo" / "pareto.json").is_file()
    assert (clone / "generated_archs" / "my_vit.py").is_file()
    for name, data in shipped.items():  # exporting the reference again must not change a shipped file
        assert (clone / "generated_archs" / name).read_bytes() == data, name
