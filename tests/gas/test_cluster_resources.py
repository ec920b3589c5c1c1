"""Resources a trial asks for that no node has: one line before the run directory exists.

Ray would otherwise keep the trials pending forever (printing its warning every minute) and leave an
empty run that becomes the latest for `gas show` and `gas export best`.
"""

from __future__ import annotations

import pytest

from gas.cli import main
from gas.cluster import check_trial_resources
from gas_kernel.errors import GasError

TINY = ["--img-size", "32", "--num-classes", "10", "--budget", "flops=20M", "--trials", "1", "--no-progress"]
NODES = ({"CPU": 2.0, "memory": 1e9}, {"CPU": 4.0, "GPU": 1.0})


@pytest.mark.parametrize(("cpus", "gpus"), [(4, 1), (0.5, 0.25), (2, 0)])
def test_what_one_node_has_is_accepted(cpus, gpus):
    check_trial_resources(NODES, cpus, gpus)


@pytest.mark.parametrize(("cpus", "gpus", "message"), [
    (6, 0, "--cpus-per-trial 6 asks for more than this Ray has: the largest of its 2 nodes has 4 CPU"),
    (1, 2, "--gpus-per-trial 2 asks for more than this Ray has: the largest of its 2 nodes has 1 GPU"),
])
def test_more_than_the_largest_node_is_refused(cpus, gpus, message):
    with pytest.raises(GasError, match=message):
        check_trial_resources(NODES, cpus, gpus)


def test_a_gpu_on_a_machine_without_one():
    with pytest.raises(GasError, match="--gpus-per-trial 1 asks for more than this Ray has: its one node has 0 GPU"):
        check_trial_resources([{"CPU": 2.0}], 1, 1)


@pytest.mark.parametrize("flag", [["--gpus-per-trial", "1"], ["--cpus-per-trial", "3"]])
def test_search_asking_too_much_is_one_line_and_leaves_no_run(ray_cluster, tmp_path, capsys, flag):
    """The session Ray has 2 CPUs and no GPU."""
    runs_dir = tmp_path / "runs"
    code = main(["search", "--runs-dir", str(runs_dir), *flag, *TINY])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"gas: error: {flag[0]} {flag[1]} asks for more than this Ray has")
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
