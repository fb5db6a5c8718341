"""The load shapes: residents back to back (saturation), residents who think (fixed offered load), a burst."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.channels import Channel
from bench.figures import Samples

Conversation = Callable[[Channel, Samples, random.Random, float], Awaitable[bool]]


async def residents(
    channels: list[Callable[[], Channel]], conversation: Conversation, seconds: float, think: float = 0.0
) -> Samples:
    """Each channel factory is one resident holding conversation after conversation for ``seconds``.

    Returns what was recorded. Residents
    start spread over the first think time, as people do, not all in the
    same millisecond; messages answered after the window closed are not
    counted in the throughput (their latency is).
    """
    samples = Samples()
    started = time.monotonic()
    stop_at = started + seconds

    async def resident(index: int, make: Callable[[], Channel]) -> None:
        rng = random.Random(index)
        if think:
            await asyncio.sleep(rng.uniform(0, think))
        while time.monotonic() < stop_at:
            await conversation(make(), samples, rng, think)

    await asyncio.gather(*(resident(i, make) for i, make in enumerate(channels)))
    return samples


def throughput(samples: Samples, started: float, seconds: float) -> float:
    """Messages answered per second inside the window that began at ``started``."""
    inside = [s for s in samples.items if not s.empty and started <= s.sent_at <= started + seconds]
    return len(inside) / seconds


@dataclass
class Stage:
    """One step of the saturation ramp, and the CPU seconds each process spent in it."""

    concurrency: int
    per_second: float
    samples: Samples
    cpu: dict[str, float] = field(default_factory=dict)

    def cpu_ms_per_message(self) -> dict[str, float]:
        """CPU milliseconds per answered message, by process."""
        answered = self.samples.answered()
        return {name: seconds * 1000 / answered for name, seconds in self.cpu.items()} if answered else {}


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What each part used between two readings of :func:`bench.processes.cpu_seconds` (or ``machine_seconds``)."""
    return {name: after[name] - before.get(name, 0.0) for name in after}


async def ramp(
    make: Callable[[], Channel],
    conversation: Conversation,
    levels: list[int],
    seconds: float,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> list[Stage]:
    """Residents sending back to back (no think time), more of them at each level; ``cpu`` reads CPU time."""
    stages = []
    for level in levels:
        before = cpu() if cpu else {}
        started = time.monotonic()
        samples = await residents([make] * level, conversation, seconds)
        used = cpu_spent(before, cpu() if cpu else {})
        stages.append(Stage(level, throughput(samples, started, seconds), samples, used))
    return stages


def knee(stages: list[Stage]) -> Stage:
    """The first level that reaches 95 % of the best throughput: more residents after it only queue."""
    best = max(s.per_second for s in stages)
    return next(s for s in stages if s.per_second >= 0.95 * best)


# Five quick messages and a fragment each answer must contain, in this order.
BURST = [
    ("你好", r"三事通"),
    ("你是机器人吗", r"不是真人|机器人"),
    ("三事分流是什么", r"三事分流"),
    ("楼下垃圾好几天没人收", r"垃圾"),
    ("谢谢", r"不客气|不用谢"),
]


@dataclass
class Burst:
    """One burst: seconds until every answer was there, whether they came in order, how many came."""

    seconds: float
    in_order: bool
    answered: int


async def burst(make: Callable[[], Channel], gap: float = 0.05) -> Burst:
    """Five messages ``gap`` seconds apart from one resident, without waiting; until all five are answered.

    The answers are read together in arrival order; each must contain its
    message's fragment after the previous one's.
    """
    channel = make()
    started = time.monotonic()
    if channel.entry == "telegram":
        # One chat: push all five, then wait until the last one's answer arrived.
        for index, (text, _) in enumerate(BURST):
            if index:
                await asyncio.sleep(gap)
            channel.push(text)  # type: ignore[attr-defined]
        joined = await channel.collect(BURST[-1][1])  # type: ignore[attr-defined]
        seconds = time.monotonic() - started
    else:

        async def send(index: int, text: str) -> None:
            await asyncio.sleep(index * gap)
            await channel.say(text, ())

        await asyncio.gather(*(send(i, text) for i, (text, _) in enumerate(BURST)))
        seconds = time.monotonic() - started  # every request came back: all five were answered (or refused)
        joined = await channel.everything()  # type: ignore[attr-defined]
    position, answered, in_order = 0, 0, True
    for _, pattern in BURST:
        found = re.compile(pattern).search(joined, position)
        if found is None:
            in_order = False
            continue
        answered += 1
        position = found.end()
    return Burst(seconds, in_order and answered == len(BURST), answered)
