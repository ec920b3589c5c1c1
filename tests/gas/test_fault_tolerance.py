"""A Ray worker killed (SIGKILL) in the middle of a trial: the trial is retried or failed, the search ends.

The search runs in this process on the test session's Ray; a watcher thread finds the first worker
process executing a trial (its process title is `ray::ImplicitFunc.train` while Tune's function
trainable runs) and kills it. `--max-retries 1` (the default) re-runs the trial, `0` fails it with
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

TRIAL_TITLE = b"ray::ImplicitFunc.train"


def trial_workers() -> list[int]:
    """Pids of Ray workers executing a Tune function trial right now."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(TRIAL_TITLE):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


class WorkerKiller(threading.Thread):
    """Kills the first trial worker it sees, once, 1 s into its trial; `killed` is its pid."""

    def __init__(self, timeout_s: float = 60.0):
        super().__init__(daemon=True)
        self.timeout_s, self.killed = timeout_s, None

    def run(self) -> None:
        deadline = time.time() + self.timeout_s
        while self.killed is None and time.time() < deadline:
            pids = trial_workers()
            if pids:
                time.sleep(1.0)  # mid-trial: the slow score sleeps 2.5 s
                if pids[0] in trial_workers():
                    os.kill(pids[0], signal.SIGKILL)
                    self.killed = pids[0]
            time.sleep(0.05)


def run_with_a_killed_worker(tmp_path: Path, name: str, max_retries: int) -> tuple[object, list[dict], int | None]:
    search_helpers.register()
    killer = WorkerKiller()
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
