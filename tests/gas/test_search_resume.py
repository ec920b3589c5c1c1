"""Kill a running search with SIGKILL and resume it: nothing completed is lost or evaluated twice.

The search runs in a subprocess with its own embedded Ray; after the kill, that Ray's processes
(found by the session directory the run recorded) are stopped by pid, leaving the test's Ray alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import search_helpers
from process_helpers import kill_all, pids_in_session, pids_with_cmdline

from gas.orchestrate import resume
from gas.runs import load_pareto

HELPERS = Path(search_helpers.__file__)
EVALUATIONS = ("evaluated", "failed", "over_budget")


def evaluated_in_storage(run_dir: Path) -> dict[int, str]:
    """{trial number: arch_id} of trials evaluated on a worker, straight from the Optuna storage."""
    study = optuna.load_study(study_name=run_dir.name, storage=f"sqlite:///{run_dir / 'study.db'}")
    return {t.number: t.user_attrs["arch_id"] for t in study.get_trials(deepcopy=False)
            if t.user_attrs.get("gas_status") in EVALUATIONS}


def stop_ray_session(run_dir: Path, driver_pid: int) -> set[int]:
    """SIGKILL what is left of the killed driver's embedded Ray; returns what was still alive.

    Its processes are those naming the session that gas recorded in ray_session.json, and any other
    in the driver's Unix session (not every Ray process names its Ray session).
    """
    session = Path(json.loads((run_dir / "ray_session.json").read_text())["session_dir"]).name
    return kill_all(lambda: pids_with_cmdline(session) | pids_in_session(driver_pid))


def start_driver(runs_dir: Path, name: str, trials: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join([str(HELPERS.parent), str(HELPERS.parents[2]), env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, str(HELPERS), str(runs_dir), name, str(trials)], env=env,
                            stdout=subprocess.DEVNULL, stderr=(runs_dir / "driver.log").open("w"),
                            start_new_session=True)


def wait_for_evaluations(run_dir: Path, driver: subprocess.Popen, count: int, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if driver.poll() is not None:
            log = (run_dir.parent / "driver.log").read_text()[-2000:]
            pytest.fail(f"the search ended (rc {driver.returncode}) before it could be killed:\n{log}")
        with contextlib.suppress(Exception):  # the study may not be created yet
            if (run_dir / "study.db").exists() and len(evaluated_in_storage(run_dir)) >= count:
                return
        time.sleep(0.3)
    pytest.fail(f"no {count} evaluations within {timeout_s}s")


def test_sigkill_then_resume_loses_nothing_and_repeats_nothing(ray_cluster, tmp_path):
    run_dir = tmp_path / "killed"
    driver = start_driver(tmp_path, "killed", trials=10)
    try:
        wait_for_evaluations(run_dir, driver, count=3)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    stop_ray_session(run_dir, driver.pid)
    before = evaluated_in_storage(run_dir)

    search_helpers.register()
    result = resume("killed", runs_dir=tmp_path, progress=False)

    after = evaluated_in_storage(run_dir)
    assert len(after) == result.evaluations == 10 >= len(before)
    assert before.items() <= after.items(), "a completed trial was lost"
    assert len(set(after.values())) == len(after), "an arch id was evaluated twice"
    _, pareto = load_pareto(run_dir)
    assert set(before) <= {entry["number"] for entry in pareto}  # size score: every trial is Pareto
