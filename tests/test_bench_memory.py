"""The benchmark's memory watch, against this test's own process in /proc."""

from __future__ import annotations

import os
from pathlib import Path

from bench.processes import MemoryWatch, rss_parts


def _vm_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_the_parts_add_up_to_the_resident_size():
    anon, other = rss_parts(os.getpid())
    assert anon > 0 and other > 0
    assert abs(anon + other - _vm_rss_mib()) < 8  # read a moment apart


def test_the_peak_keeps_its_split_and_the_first_sample_stays():
    watch = MemoryWatch({"me": os.getpid()})
    watch.sample()
    first = watch.first("me")
    ballast = bytearray(64 * 1024 * 1024)  # 64 MiB, touched, so resident and anonymous
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    watch.sample()
    del ballast
    assert watch.first("me") == first
    assert watch.peak("me") >= first + 60
    anon, other = watch.at_peak["me"]
    assert anon + other == watch.peak("me")
    assert watch.first("gone") == 0.0 and watch.peak("gone") == 0.0
