"""The benchmark's figures: nearest-rank percentiles, the soak's p95 per window, the tail by conversation step."""

from __future__ import annotations

import math

from bench.figures import Sample, cpu_line, p95_by_window, percentile, tail_by_step
from bench.processes import machine_seconds


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


def test_cpu_line_splits_the_machine_between_the_stack_the_generator_others_and_the_host():
    used = {"rasa": 1.0, "web": 0.5, "postgres": 0.1, "bare rasa": 0.0, "load generator": 0.2}
    machine = {"busy": 2.0, "steal": 0.04, "all": 4.0}  # two cores for two seconds, half busy
    line = cpu_line(used, machine, messages=100)
    assert "rasa 10.0, web 5.0, postgres 1.0; total 16.0" in line  # ms per message, largest first, no generator
    assert "50% busy (the stack 40%, the load generator 5%, other processes 5%)" in line
    assert "1.0% taken by the host (steal)" in line


def test_the_machine_reading_grows_and_busy_never_exceeds_all():
    first = machine_seconds()
    sum(i * i for i in range(200_000))  # some CPU between the readings
    second = machine_seconds()
    assert second["all"] >= first["all"] and second["busy"] >= first["busy"]
    assert 0 <= second["busy"] - first["busy"] <= second["all"] - first["all"] + 0.05
