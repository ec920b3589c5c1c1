"""One timing at a time: measured evaluators (latency, throughput) run inside a cluster-wide lock.

Concurrent trials share CPUs (and memory bandwidth), so a latency timed while another trial trains
or scores a proxy is distorted. When latency or throughput is an objective or a budget, the driver
starts a named Ray actor, `gas-latency-lock` (async, one holder at a time, FIFO), and every trial
times its model only while holding it; the other work of concurrent trials still overlaps. A holder
that dies is released after `LEASE_S`, so a killed worker never blocks the search. Outside Ray (the
benchmarks' in-process evaluation) the section is a no-op.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["LEASE_S", "LOCK_NAME", "latency_section", "start_latency_lock"]

LOCK_NAME = "gas-latency-lock"
LEASE_S = 300.0


class LatencyLock:
    """An async Ray actor holding a lock with a lease; `acquire` waits, `release` hands it on."""

    def __init__(self) -> None:
        self.holder: str | None = None
        self.since = 0.0
        self.free = asyncio.Condition()

    async def acquire(self, token: str) -> None:
        async with self.free:
            while self.holder is not None and time.monotonic() - self.since < LEASE_S:
                try:
                    await asyncio.wait_for(self.free.wait(), timeout=1.0)
                except TimeoutError:
                    continue
            self.holder, self.since = token, time.monotonic()

    async def release(self, token: str) -> None:
        async with self.free:
            if self.holder == token:
                self.holder = None
                self.free.notify()


def start_latency_lock() -> Any:
    """The job's lock actor (created once by the driver; trials look it up by name)."""
    import ray

    actor = ray.remote(num_cpus=0, max_restarts=-1)(LatencyLock)
    return actor.options(name=LOCK_NAME, get_if_exists=True).remote()


@contextmanager
def latency_section() -> Iterator[None]:
    """Hold the lock for the block when running under Ray with the lock started; else do nothing."""
    import ray

    lock = None
    if ray.is_initialized():
        try:
            lock = ray.get_actor(LOCK_NAME)
        except ValueError:
            lock = None
    if lock is None:
        yield
        return
    token = uuid.uuid4().hex
    ray.get(lock.acquire.remote(token))
    try:
        yield
    finally:
        ray.get(lock.release.remote(token))
