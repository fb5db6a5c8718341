"""Latency samples and the figures printed from them (medians and tail percentiles, not means)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field


@dataclass
class Sample:
    """One message: where it went, how long until its first answer, and whether the answer was right."""

    entry: str  # "web", "telegram", "bare"
    sent_at: float  # monotonic seconds
    latency_ms: float
    empty: bool = False  # no answer at all (Rasa's [] when the action server is down, or nothing in time)
    unexpected: bool = False  # an answer, but not the step of the conversation it should have been
    said: str = ""  # for an unexpected answer: what was sent and the start of what came back
    step: str = ""  # which step of the conversation ("report", "form", "confirm", …), to see where the tail is


@dataclass
class Samples:
    """What one phase of the benchmark recorded."""

    items: list[Sample] = field(default_factory=list)
    conversations: int = 0  # conversations that reached their end (ticket filed, status and points answered)

    def add(self, sample: Sample) -> None:
        """Record one message."""
        self.items.append(sample)

    def of(self, entry: str) -> list[Sample]:
        """The messages sent through one entry point."""
        return [s for s in self.items if s.entry == entry]

    def empty(self, entry: str | None = None) -> int:
        """How many messages got no answer (through one entry point, or all)."""
        return sum(1 for s in self.items if s.empty and (entry is None or s.entry == entry))

    def answered(self) -> int:
        """How many messages got an answer (what CPU per message is counted over)."""
        return len(self.items) - self.empty()

    def unexpected(self, entry: str | None = None) -> int:
        """How many answers were not the conversation's next step."""
        return sum(1 for s in self.items if s.unexpected and (entry is None or s.entry == entry))

    def examples(self, count: int = 3) -> list[str]:
        """A few unexpected answers, to see what went wrong."""
        return [s.said for s in self.items if s.unexpected][:count]


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_line(samples: list[Sample]) -> str:
    """p50 / p95 / p99 / max of the answered messages."""
    ms = [s.latency_ms for s in samples if not s.empty]
    if not ms:
        return "no answered messages"
    return (
        f"p50 {statistics.median(ms):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  "
        f"p99 {percentile(ms, 99):7.1f} ms  max {max(ms):7.1f} ms  (n={len(ms)})"
    )


def tail_by_step(samples: list[Sample]) -> list[str]:
    """Per conversation step: p50 / p95 and how many of the messages slower than the overall p95 it holds.

    The p95 is one number over every kind of message; this shows which
    step the slow messages are (a form step with two action calls and a
    ticket write, or the first message with its longer text), and so where
    time spent shortening the tail would go.
    """
    answered = [s for s in samples if not s.empty]
    if not answered:
        return []
    cut = percentile([s.latency_ms for s in answered], 95)
    steps: dict[str, list[float]] = {}
    for s in answered:
        steps.setdefault(s.step or "?", []).append(s.latency_ms)
    slow = sum(1 for s in answered if s.latency_ms > cut)
    lines = []
    for step, ms in steps.items():
        over = sum(1 for m in ms if m > cut)
        lines.append(
            f"{step:<8} p50 {statistics.median(ms):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms  (n={len(ms)}; "
            f"{over} of the {slow} above the overall p95 {cut:.0f} ms)"
        )
    return lines


def p95_by_window(samples: list[Sample], started: float, width: float) -> list[tuple[int, float]]:
    """(messages, p95 ms) of the answered messages sent in each ``width``-second window after ``started``.

    Shows whether a long run's tail is spread over it or gathered in some
    windows (a pause, a checkpoint) or growing (something filling up).
    """
    windows: dict[int, list[float]] = {}
    for s in samples:
        if not s.empty:
            windows.setdefault(int((s.sent_at - started) // width), []).append(s.latency_ms)
    last = max(windows, default=-1)
    return [(len(windows.get(i, [])), percentile(windows.get(i, []), 95)) for i in range(last + 1)]


def ms_by_part(ms: dict[str, float]) -> str:
    """CPU ms per message by part, largest first (parts under 0.05 ms left out), and their total."""
    parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(ms.items(), key=lambda kv: -kv[1]) if v >= 0.05)
    return f"{parts}; total {sum(ms.values()):.1f}"


def cpu_line(used: dict[str, float], machine: dict[str, float], messages: int) -> str:
    """What a phase cost: CPU ms per answered message by part of the stack, and how busy the machine was.

    ``used`` and ``machine`` are differences of :func:`bench.processes.cpu_seconds`
    and :func:`bench.processes.machine_seconds` over the phase.
    """
    mine = {k: v for k, v in used.items() if k not in ("bare rasa", "load generator")}
    whole = machine["all"] or 1.0
    stack, generator = sum(mine.values()) / whole, used.get("load generator", 0.0) / whole
    others = max(0.0, machine["busy"] - sum(used.values())) / whole
    return (f"CPU ms per message: {ms_by_part({k: v * 1000 / messages for k, v in mine.items()})}. "
            f"The machine: {machine['busy'] / whole:.0%} busy (the stack {stack:.0%}, the load generator "
            f"{generator:.0%}, other processes {others:.0%}), "
            f"{machine['steal'] / whole:.1%} taken by the host (steal)")  # fmt: skip


def verdict(ok: bool) -> str:
    """How a figure stands against its target, in both languages."""
    return "达标 / met" if ok else "未达标 / NOT met"
