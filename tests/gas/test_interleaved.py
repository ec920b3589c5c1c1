"""gas.benchmarking.interleaved: callables timed in turn, warm-ups first, medians per callable."""

import pytest

from gas.benchmarking import interleaved, interleaved_medians


def test_calls_each_in_turn_after_its_warmups_and_returns_each_median(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(interleaved.time, "perf_counter", lambda: clock[0])
    order = []

    def taking(name, seconds_per_call):
        def call():
            order.append(name)
            clock[0] += seconds_per_call.pop(0)
        return call

    a = taking("a", [9.0, 1.0, 3.0, 2.0])  # warm-up, then three timed calls: median 2
    b = taking("b", [9.0, 5.0, 4.0, 6.0])  # median 5
    assert interleaved_medians([a, b], rounds=3, warmup=1) == pytest.approx([2.0, 5.0])
    assert order == ["a", "b", "a", "b", "a", "b", "a", "b"]
