"""Find and kill the processes a test started (imported by the tests; not a test module).

A Ray cluster or an embedded Ray spawns processes whose command lines do not all name their
session (Ray's client server and agents, for instance), that are re-parented to init when their
parent dies, and whose environment block Ray overwrites with their process title. What they all
keep is the Unix session of the process that started them (Ray never calls setsid), so a test starts
that process with `start_new_session=True` and later finds them all by its session id.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["kill_all", "pids_in_session", "pids_with_cmdline"]


def pids_in_session(session_id: int) -> set[int]:
    """Processes (other than this one) of Unix session `session_id` (the pid of its leader)."""
    found = set()
    for pid, stat in _proc_files("stat"):
        fields = stat.rsplit(b")", 1)[-1].split()  # after "pid (comm)": state ppid pgrp session ...
        if len(fields) > 3 and int(fields[3]) == session_id:
            found.add(pid)
    return found


def pids_with_cmdline(text: str) -> set[int]:
    """Processes (other than this one) whose command line contains `text`."""
    wanted = text.encode()
    return {pid for pid, cmdline in _proc_files("cmdline") if wanted in cmdline}


def kill_all(find: Callable[[], set[int]], timeout_s: float = 15) -> set[int]:
    """SIGKILL whatever `find()` returns until it returns nothing; returns every pid it killed.

    Raises AssertionError when processes are still there after `timeout_s`.
    """
    killed: set[int] = set()
    deadline = time.time() + timeout_s
    while (pids := find()) and time.time() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed |= pids
        time.sleep(0.3)
    leftovers = find()
    assert not leftovers, f"processes survived SIGKILL: {sorted(leftovers)}"
    return killed


def _proc_files(name: str) -> list[tuple[int, bytes]]:
    """(pid, contents of /proc/PID/<name>) for every readable process but this one."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            found.append((int(proc.name), (proc / name).read_bytes()))
        except OSError:  # gone, or a kernel thread
            continue
    return found
