"""The benchmark's memory watch, against child processes this test starts and controls.

The watch reads a process *and its descendants* (a launcher may leave a child
doing the work), so each test watches a process of its own whose tree it knows:
the test runner itself may have servers running under it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.processes import MemoryWatch, rss_parts

# A child that says "ready", then on each line of input either grows by 64 MiB
# of touched (so resident, anonymous) memory or starts one idle grandchild.
_CHILD = r"""
import subprocess, sys
kept, grandchildren = [], []
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "grow":
        block = bytearray(64 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        kept.append(block)
        print("grown", flush=True)
    elif line.strip() == "spawn":
        idle = "import sys; print('up', flush=True); sys.stdin.read()"
        grandchildren.append(subprocess.Popen([sys.executable, "-c", idle],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        grandchildren[-1].stdout.readline()
        print(grandchildren[-1].pid, flush=True)
"""


@contextmanager
def _child() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _ask(proc: subprocess.Popen[str], command: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def _vm_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_the_parts_add_up_to_the_resident_size_of_the_process_and_its_descendants():
    with _child() as child:
        anon, other = rss_parts(child.pid)
        assert anon > 0 and other > 0
        assert abs(anon + other - _vm_rss_mib(child.pid)) < 2  # an idle process, read a moment apart

        grandchild = int(_ask(child, "spawn"))
        anon, other = rss_parts(child.pid)
        together = _vm_rss_mib(child.pid) + _vm_rss_mib(grandchild)
        assert abs(anon + other - together) < 2
        assert anon + other > _vm_rss_mib(child.pid) + 1  # the grandchild is counted


def test_the_peak_keeps_its_split_and_the_first_sample_stays():
    with _child() as child:
        watch = MemoryWatch({"child": child.pid})
        watch.sample()
        first = watch.first("child")
        assert _ask(child, "grow") == "grown"
        watch.sample()
        assert watch.first("child") == first
        assert watch.peak("child") >= first + 60
        anon, other = watch.at_peak["child"]
        assert anon + other == watch.peak("child")
        assert anon >= 60  # the growth is heap, not mapped files
    assert watch.first("gone") == 0.0 and watch.peak("gone") == 0.0
