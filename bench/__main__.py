"""Run the benchmark and print its figures: ``make bench`` (``python -m bench --help`` for shorter runs).

The stack runs in the production profile by default (PostgreSQL, Redis,
two Rasa servers that the web app, the worker and the bridge send to in
turn; PostgreSQL and Redis from scripts/test-services.sh, as ``make test``
starts them); ``--embedded`` runs it as ``make run`` does (SQLite, one
Rasa server). Phases, in one run on one machine so that the figures compare:

1. saturation: residents back to back (1, 2, 4, 8, 16 at once), first on the
   bare Rasa server, then through the stack's web chat; messages per second
   at each level and at the knee;
2. fixed offered load: 50 residents with 2 s think time (40 on the web chat,
   10 on Telegram), then the same on the bare server; p50 / p95 / p99;
3. bursts: five quick messages from one resident, on the web chat and on
   Telegram; seconds until all five are answered, and their order;
4. soak: the fixed load for ten minutes while the memory of every process is
   sampled; the first minute's median against the last minute's.

Empty answers (Rasa's [] or nothing within 30 s) are counted in every phase.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bench.channels import BareRasa, Channel, Telegram, TelegramInbox, WebChat
from bench.conversation import bare_conversation, report_conversation
from bench.figures import Samples, cpu_line, latency_line, ms_by_part, p95_by_window, percentile, tail_by_step, verdict
from bench.load import Burst, burst, cpu_spent, knee, ramp, residents
from bench.processes import BareRasaServer, MemoryWatch, cpu_seconds, machine_seconds, start_stack
from tests.fake_bot_api import FakeBotAPI

TARGET_RATE = 25.0
TARGET_RATIO = 0.7
TARGET_P95_MS = 150.0
TARGET_BURST_S = 1.5
TARGET_GROWTH = 0.10
TARGET_RASA_MIB = 1024.0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,2,4,8,16", help="residents at once in the saturation ramp")
    parser.add_argument("--stage-seconds", type=float, default=20, help="seconds per saturation level")
    parser.add_argument("--residents", type=int, default=50, help="residents at the fixed offered load")
    parser.add_argument("--telegram-share", type=float, default=0.2, help="part of them on Telegram")
    parser.add_argument("--think", type=float, default=2.0, help="mean think time between messages (s)")
    parser.add_argument("--load-seconds", type=float, default=60, help="seconds of fixed offered load")
    parser.add_argument("--bursts", type=int, default=5, help="bursts per entry point")
    parser.add_argument("--soak-seconds", type=float, default=600, help="seconds of soak (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (databases, process logs)")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="the embedded profile (SQLite, one Rasa server, as make run) instead of the production profile",
    )
    parser.add_argument("--rasa-servers", type=int, default=2, help="Rasa servers in the production profile")
    parser.add_argument(
        "--bare-speedups",
        action="store_true",
        help="start the bare Rasa server with the stack's speedups (backend.rasa_ext.patches) instead of stock Rasa",
    )
    return parser.parse_args()


def say(line: str = "") -> None:
    """Print a line of the report at once (the run is long; its progress shows)."""
    print(line, flush=True)


async def _sampling(watch: MemoryWatch, stop: asyncio.Event) -> None:
    while not stop.is_set():
        watch.sample()
        try:
            await asyncio.wait_for(stop.wait(), timeout=2.0)
        except asyncio.TimeoutError:
            pass


async def _bench(args: argparse.Namespace, workdir: Path) -> int:
    me = asyncio.current_task()
    assert me is not None
    for sig in (signal.SIGINT, signal.SIGTERM):  # stopped early: still stop every process it started
        asyncio.get_running_loop().add_signal_handler(sig, me.cancel)
    api = FakeBotAPI()
    servers = 1 if args.embedded else args.rasa_servers
    profile = "embedded: SQLite" if args.embedded else f"production: PostgreSQL, Redis, {servers} Rasa servers"
    kind = "with the stack's speedups" if args.bare_speedups else "stock Rasa 3.6"
    say(f"启动 / starting the stack ({profile}) and a bare Rasa server ({kind}) under {workdir} …")
    stack = start_stack(workdir, api, rasa_servers=servers, production=not args.embedded)
    bare = BareRasaServer(workdir, speedups=args.bare_speedups)
    failed: list[str] = []
    try:
        bare.start()
        assert bare.proc is not None
        pids = {name: proc.pid for name, proc in stack.procs.items()}
        pids["bare rasa"] = bare.proc.pid
        watch = MemoryWatch(pids)
        stop = asyncio.Event()
        inbox = TelegramInbox(api)
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            background = [asyncio.create_task(_sampling(watch, stop)), asyncio.create_task(inbox.run(stop))]
            secret = stack.env["SECRET_KEY"]

            def web() -> Channel:
                return WebChat(http, stack.web_url, secret)

            def telegram() -> Channel:
                return Telegram(inbox)

            def baseline() -> Channel:
                return BareRasa(http, bare.url)

            failed += await _phases(args, web, telegram, baseline, watch)
            stop.set()
            await asyncio.gather(*background)
    finally:
        bare.stop()
        stack.stop_all()
        api.close()
    say()
    if failed:
        say("未达标 / targets NOT met: " + "; ".join(failed))
        return 1
    say("全部达标 / every target met")
    return 0


async def _phases(
    args: argparse.Namespace,
    web: Callable[[], Channel],
    telegram: Callable[[], Channel],
    baseline: Callable[[], Channel],
    watch: MemoryWatch,
) -> list[str]:
    failed: list[str] = []
    levels = [int(n) for n in args.levels.split(",")]
    say("预热 / warming up (a few conversations each, not counted) …")
    await residents([web, telegram, baseline], _either, 10)

    # 1. saturation
    say(f"\n== 1. 饱和吞吐 / saturation: residents back to back, {args.stage_seconds:.0f} s per level ==")
    results = {}

    def cpu() -> dict[str, float]:
        return cpu_seconds(watch.pids)

    for name, make, conversation in (("bare", baseline, bare_conversation), ("web", web, report_conversation)):
        stages = await ramp(make, conversation, levels, args.stage_seconds, cpu)
        for stage in stages:
            say(f"  {name:<5} {stage.concurrency:>3} at once: {stage.per_second:6.1f} msg/s   "
                f"{latency_line(stage.samples.items)}   empty {stage.samples.empty()}"
                + (f", unexpected {stage.samples.unexpected()}" if name != "bare" else ""))  # fmt: skip
            for example in stage.samples.examples() if name != "bare" else []:
                say(f"      e.g. {example}")
        results[name] = stages
    bare_knee, web_knee = knee(results["bare"]), knee(results["web"])
    for name, stage in (("bare", bare_knee), ("stack", web_knee)):
        used = stage.cpu_ms_per_message()
        mine = {k: v for k, v in used.items() if (k == "bare rasa") == (name == "bare") and k != "load generator"}
        say(f"  CPU ms per message at the {name} knee: {ms_by_part(mine)} "
            f"(the load generator {used.get('load generator', 0.0):.1f})")  # fmt: skip
    best_bare = max(s.per_second for s in results["bare"])
    best_web = max(s.per_second for s in results["web"])
    ratio = best_web / best_bare if best_bare else 0.0
    say(f"  knee: bare {bare_knee.per_second:.1f} msg/s at {bare_knee.concurrency}; "
        f"stack (web) {web_knee.per_second:.1f} msg/s at {web_knee.concurrency}")  # fmt: skip
    ok = best_web >= TARGET_RATE and ratio >= TARGET_RATIO
    say(f"  saturation: stack {best_web:.1f} msg/s = {ratio:.2f} × bare {best_bare:.1f} msg/s "
        f"(target ≥ {TARGET_RATE:.0f} and ≥ {TARGET_RATIO} ×)   {verdict(ok)}")  # fmt: skip
    if not ok:
        failed.append(f"throughput {best_web:.1f} msg/s, {ratio:.2f} × bare")
    empties = [("saturation", sample) for stage in results["web"] for sample in stage.samples.items if sample.empty]

    # 2. fixed offered load
    on_telegram = round(args.residents * args.telegram_share)
    say(f"\n== 2. 固定负载 / fixed offered load: {args.residents} residents ({args.residents - on_telegram} web, "
        f"{on_telegram} Telegram), {args.think:.0f} s think time, {args.load_seconds:.0f} s ==")  # fmt: skip
    mix = [web] * (args.residents - on_telegram) + [telegram] * on_telegram
    cpu_before, machine_before = cpu(), machine_seconds()
    load = await residents(mix, report_conversation, args.load_seconds, args.think)
    load_cpu = cpu_spent(cpu_before, cpu()), cpu_spent(machine_before, machine_seconds())
    bare_load = await residents([baseline] * args.residents, bare_conversation, args.load_seconds, args.think)
    for name, samples in (("web", load.of("web")), ("telegram", load.of("telegram")), ("bare", bare_load.items)):
        say(f"  {name:<8} {latency_line(samples)}")
    for name, samples in (("web", load.of("web")), ("bare", bare_load.items)):
        say(f"  {name} by step:")
        for line in tail_by_step(samples):
            say(f"    {line}")
    web_ms = [s.latency_ms for s in load.of("web") if not s.empty]
    p95 = percentile(web_ms, 95) if web_ms else float("inf")  # the p95 printed above
    say(f"  {cpu_line(*load_cpu, max(1, load.answered()))}")
    say(f"  conversations completed: {load.conversations}; unexpected answers: {load.unexpected()}")
    for example in load.examples():
        say(f"      e.g. {example}")
    ok = p95 <= TARGET_P95_MS
    say(f"  web p95 {p95:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms)   {verdict(ok)}")
    say("  Telegram adds the bridge's long poll and its 1 message/s per chat pacing (Telegram's own limit).")
    if not ok:
        failed.append(f"p95 {p95:.0f} ms")
    empties += [("fixed load", sample) for sample in load.items if sample.empty]

    # 3. bursts
    say(f"\n== 3. 连发 / a burst of 5 messages from one resident, {args.bursts} times per entry point ==")
    for name, make in (("web", web), ("telegram", telegram)):
        runs: list[Burst] = [await burst(make) for _ in range(args.bursts)]
        times = [b.seconds for b in runs]
        in_order = all(b.in_order for b in runs)
        say(f"  {name:<8} median {statistics.median(times):.2f} s, max {max(times):.2f} s; "
            f"all answered in order: {in_order}")  # fmt: skip
        if name == "web":
            ok = max(times) <= TARGET_BURST_S and in_order
            say(f"  web: every burst within {TARGET_BURST_S} s, in order   {verdict(ok)}")
            if not ok:
                failed.append(f"web burst max {max(times):.2f} s, in order {in_order}")
        elif not in_order:
            failed.append("a Telegram burst was not answered in order")

    # 4. soak
    if args.soak_seconds:
        say(f"\n== 4. 浸泡 / soak: the fixed load for {args.soak_seconds:.0f} s, memory sampled every 2 s ==")
        started, cpu_before, machine_before = time.monotonic(), cpu(), machine_seconds()
        soak = await residents(mix, report_conversation, args.soak_seconds, args.think)
        ended = time.monotonic()
        say(f"  web {latency_line(soak.of('web'))}; conversations {soak.conversations}")
        spent = cpu_spent(cpu_before, cpu()), cpu_spent(machine_before, machine_seconds())
        say(f"  {cpu_line(*spent, max(1, soak.answered()))}")
        minutes = p95_by_window(soak.of("web"), started, 60.0)
        say("  web p95 per minute (ms): " + " ".join(f"{p95:.0f}" for _, p95 in minutes))
        empties += [("soak", sample) for sample in soak.items if sample.empty]
        window = min(60.0, args.soak_seconds / 4)
        for name in watch.pids:
            first, last = watch.growth(name, started, ended, window)
            change = (last - first) / first if first else 0.0
            ok = change <= TARGET_GROWTH or name == "bare rasa"
            say(f"  {name:<9} {first:7.1f} → {last:7.1f} MiB ({change:+.1%})   {verdict(ok)}")
            if not ok:
                failed.append(f"{name} memory grew {change:+.1%}")

    say("\n== 内存峰值 / peak resident memory (process and children) ==")
    for name in watch.pids:
        anon, other = watch.at_peak.get(name, (0.0, 0.0))
        say(f"  {name:<9} {watch.peak(name):7.1f} MiB (anonymous {anon:.0f}, file-backed {other:.0f}; "
            f"first sample {watch.first(name):.0f})")  # fmt: skip
    rasas = [name for name in watch.pids if name.startswith("rasa")]
    worst = max(watch.peak(name) for name in rasas)
    ok = worst <= TARGET_RASA_MIB
    say(f"  every Rasa server ≤ {TARGET_RASA_MIB:.0f} MiB (highest {worst:.0f})   {verdict(ok)}")
    if not ok:
        failed.append(f"Rasa peak {worst:.0f} MiB")

    empty = len(empties)
    say(f"\n空回答 / empty or missing answers through the stack: {empty} (target 0)   {verdict(empty == 0)}")
    if empty:
        failed.append(f"{empty} empty answers")
        for phase, sample in empties:
            say(f"  {phase}, step {sample.step}: {sample.said}")
    return failed


async def _either(channel: Channel, samples: Samples, rng: random.Random, think: float) -> bool:
    """The warm-up: the report conversation on the stack, the bare script on the baseline."""
    if channel.entry == "bare":
        return await bare_conversation(channel, samples, rng, think)
    return await report_conversation(channel, samples, rng, think)


def main() -> int:
    """Run the benchmark; exit status 1 when a target was not met."""
    args = _arguments()
    if args.keep:
        return asyncio.run(_bench(args, Path(tempfile.mkdtemp(prefix="santong-bench-"))))
    with tempfile.TemporaryDirectory(prefix="santong-bench-") as workdir:
        return asyncio.run(_bench(args, Path(workdir)))


if __name__ == "__main__":
    sys.exit(main())
