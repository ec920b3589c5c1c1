"""A Ray worker killed (SIGKILL) in the middle of a trial: the trial is retried or failed, the search ends.

The search runs in this process on the test session's Ray; a watcher thread kills the worker process
of the first evaluation (the slow test score names its pid as it starts). `--max-retries 1` (the default) re-runs the trial, `0` fails it with
the reason Tune saw. (A killed *driver* and `--resume` are covered by test_search_resume.py.)
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import search_helpers

from gas.orchestrate import search


class WorkerKiller(threading.Thread):
    """Kills the worker of the first evaluation, once, 0.8 s into its 2.5 s score; `killed` is its pid.

    The slow score leaves a `<pid>-<ns>` file in `pid_dir` as it starts, so the kill always lands
    inside a trial (not on an idle, reusable actor between trials).
    """

    def __init__(self, pid_dir: Path, timeout_s: float = 60.0):
        super().__init__(daemon=True)
        self.pid_dir, self.timeout_s, self.killed = pid_dir, timeout_s, None

    def run(self) -> None:
        deadline = time.time() + self.timeout_s
        while time.time() < deadline:
            started = sorted(self.pid_dir.iterdir(), key=lambda p: int(p.name.split("-")[1]))
            if started:
                time.sleep(0.8)
                self.killed = int(started[0].name.split("-")[0])
                os.kill(self.killed, signal.SIGKILL)
                return
            time.sleep(0.05)


def run_with_a_killed_worker(tmp_path: Path, name: str, max_retries: int) -> tuple[object, list[dict], int | None]:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    search_helpers.register_slow(str(pid_dir))
    killer = WorkerKiller(pid_dir)
    killer.start()
    result = search(space="hiera", space_options=search_helpers.TINY, budgets={"flops": "20M"}, trials=4,
                    proxy="slow_score_test", run=name, runs_dir=tmp_path, concurrency=2, progress=False,
                    max_retries=max_retries)
    killer.join(timeout=1)
    records = [json.loads(line) for line in (result.run_dir / "trials.jsonl").read_text().splitlines()]
    return result, [r for r in records if r["status"] in ("evaluated", "failed")], killer.killed


def test_killed_worker_trial_is_retried_and_the_search_finishes(ray_cluster, tmp_path):
    result, final, killed = run_with_a_killed_worker(tmp_path, "retried", max_retries=1)
    assert killed is not None, "no trial worker was seen to kill"
    assert result.evaluations == 4 == len(final)
    assert [r for r in final if r["status"] == "failed"] == [], "the killed trial was not retried"


def test_killed_worker_trial_fails_with_a_reason_when_retries_are_off(ray_cluster, tmp_path):
    result, final, killed = run_with_a_killed_worker(tmp_path, "failed", max_retries=0)
    assert killed is not None, "no trial worker was seen to kill"
    failed = [r for r in final if r["status"] == "failed"]
    assert result.evaluations == 4 == len(final)
    assert len(failed) == 1 and failed[0]["error"]
