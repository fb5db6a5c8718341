"""The benchmark's figures: nearest-rank percentiles, the soak's p95 per window, the tail by conversation step."""

from __future__ import annotations

import math

from bench.figures import Sample, p95_by_window, percentile, tail_by_step


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert percentile(values, 95) == 95.0
    assert percentile(values, 50) == 50.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 95))


def test_p95_by_window_splits_by_send_time_and_skips_unanswered():
    samples = [Sample("web", 100.0 + i * 0.5, float(i)) for i in range(40)]  # 20 s of sends, latency = index
    samples.append(Sample("web", 101.0, 10_000.0, empty=True))  # no answer: no latency to count
    windows = p95_by_window(samples, started=100.0, width=10.0)
    assert [n for n, _ in windows] == [20, 20]
    assert windows[0][1] == 18.0  # the 19th of 0 … 19
    assert windows[1][1] == 38.0


def test_a_window_without_messages_is_kept_in_its_place():
    samples = [Sample("web", 0.5, 5.0), Sample("web", 25.0, 7.0)]
    windows = p95_by_window(samples, started=0.0, width=10.0)
    assert [n for n, _ in windows] == [1, 0, 1]
    assert math.isnan(windows[1][1])
    assert p95_by_window([], started=0.0, width=10.0) == []


def test_tail_by_step_shows_which_step_holds_the_slow_messages():
    samples = [Sample("web", 0.0, 10.0 + i % 7, step="status") for i in range(90)]
    samples += [Sample("web", 0.0, 300.0 + i, step="confirm") for i in range(10)]  # the slowest tenth
    samples.append(Sample("web", 0.0, 99_999.0, empty=True, step="status"))  # unanswered: not counted
    lines = dict(line.split(" ", 1) for line in tail_by_step(samples))
    assert set(lines) == {"status", "confirm"}
    # overall p95 (nearest rank, 100 answered) is the 95th value: confirm's 304 ms; five confirms are above it
    assert "(n=90; 0 of the 5 above the overall p95 304 ms)" in lines["status"]
    assert "(n=10; 5 of the 5 above the overall p95 304 ms)" in lines["confirm"]
    assert lines["status"].startswith("  p50   13.0 ms  p95   16.0 ms")
    assert tail_by_step([]) == []
