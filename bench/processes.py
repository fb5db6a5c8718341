"""The processes under test: the stack (as the Procfile starts it), a bare Rasa server, their memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from backend.model_store import ensure_model, model_path
from backend.rasa_auth import RasaAuth
from backend.settings import PROJECT_ROOT, load_settings
from tests.e2e.stack import Stack, free_port
from tests.fake_bot_api import TOKEN, FakeBotAPI

SERVICES = PROJECT_ROOT / "scripts" / "test-services.sh"
BARE_TOKEN = "bench"  # the bare server's API token: a throwaway server, but passed as the stack's is


def production_services() -> tuple[str, str]:
    """PostgreSQL and Redis on loopback ports under var/test-services (installed from Debian if missing).

    The same script ``make test`` uses for its production-profile run; they
    are left running (``scripts/test-services.sh stop`` stops them).
    """
    subprocess.run([str(SERVICES), "start"], cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)
    found = subprocess.run([str(SERVICES), "env"], cwd=PROJECT_ROOT, check=True, capture_output=True, text=True)
    values = dict(line.split("=", 1) for line in found.stdout.split() if "=" in line)
    return values["E2E_POSTGRES_URL"].strip("'\""), values["E2E_REDIS_URL"].strip("'\"")


def _wait_for_rasa(url: str, token: str, name: str, stack: Stack) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if stack.procs[name].poll() is not None:
            raise RuntimeError(f"{name} exited:\n{stack.log(name)}")
        try:
            if httpx.get(f"{url}/status", headers=RasaAuth(token).headers(), timeout=2).json().get("model_file"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{name} not ready:\n{stack.log(name)}")


def start_stack(workdir: Path, api: FakeBotAPI, rasa_servers: int = 1, production: bool = False) -> Stack:
    """The whole stack on free loopback ports, its own databases, Telegram through ``api``.

    The embedded profile (SQLite, one Rasa server: ``make run``) by default;
    ``production``: PostgreSQL for the backend and Rasa's tracker store,
    Redis for Rasa's lock store, and ``rasa_servers`` Rasa servers that the
    web app, the worker and the bridge send to in turn (RASA_URL lists them).
    """
    settings = load_settings(require_secrets=False)
    ensure_model(settings.model_dir, env={**os.environ, **settings.rasa_environment()})
    postgres, redis = production_services() if production else ("", "")
    stack = Stack.prepare(workdir, settings.model_dir, postgres_admin_url=postgres, redis_url=redis)
    urls = [stack.rasa_url]
    stack.start("rasa")
    for number in range(2, rasa_servers + 1):
        port = free_port()
        stack.start(f"rasa{number}", {"RASA_PORT": str(port)}, serve="rasa")
        urls.append(f"http://127.0.0.1:{port}")
    every = {"RASA_URL": ",".join(urls)}  # the web app, the worker and the bridge send to each in turn
    stack.start("actions")
    for name in ("web", "worker"):
        stack.start(name, every)
    stack.start("telegram", {**every, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url})
    for name in ("actions", "web", "worker", "telegram"):
        stack.wait_ready(name)
    for number, url in enumerate(urls, start=1):
        _wait_for_rasa(url, stack.env["RASA_TOKEN"], "rasa" if number == 1 else f"rasa{number}", stack)
    return stack


@dataclass
class BareRasaServer:
    """``rasa run`` with the same model: the REST channel, a SQLite tracker store, no action server.

    Stock Rasa 3.6 by default; ``speedups`` starts it as the stack's Rasa
    servers start (``backend.rasa_ext.launcher``: :mod:`backend.rasa_ext.patches.speedups`,
    TED's prediction cache among them), to compare like with like.
    """

    workdir: Path
    speedups: bool = False
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and wait until it has loaded the model."""
        settings = load_settings(require_secrets=False)
        endpoints = self.workdir / "bare-endpoints.yml"
        endpoints.write_text(
            f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {self.workdir / 'bare-tracker.db'}\n",
            encoding="utf-8",
        )
        log = (self.workdir / "bare-rasa.log").open("ab")
        launcher = ["-m", "backend.rasa_ext.launcher", "rasa"] if self.speedups else ["-m", "rasa"]
        command = [sys.executable, *launcher, "run", "--enable-api"]
        if not self.speedups:  # stock Rasa reads its token from the command line only; the launcher adds it
            command += ["--auth-token", BARE_TOKEN]
        command += ["--interface", "127.0.0.1", "--port", str(self.port)]
        command += ["--model", str(model_path(settings.model_dir)), "--endpoints", str(endpoints)]
        self.proc = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            # CRITICAL: each custom action's failure would be logged with its traceback, a cost the stack has not.
            env={**os.environ, "PYTHONWARNINGS": "ignore", "LOG_LEVEL": "CRITICAL", "RASA_TOKEN": BARE_TOKEN},
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bare Rasa exited: see {self.workdir / 'bare-rasa.log'}")
            try:
                if httpx.get(f"{self.url}/status", params={"token": BARE_TOKEN}, timeout=2).json().get("model_file"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise TimeoutError("bare Rasa not ready after 180 s")

    def stop(self) -> None:
        """Stop it (it has no state worth keeping)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass(frozen=True)
class _Process:
    parent: int
    name: str
    ticks: int  # utime + stime + cutime + cstime


def _processes() -> dict[int, _Process]:
    """Every process now, from one walk of /proc: its parent, name and CPU ticks.

    The ticks include the children it reaped (cutime, cstime): PostgreSQL's
    connection processes that ended during a stage stay counted in the postmaster.
    """
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = tail.split()
        ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        found[int(entry.name)] = _Process(int(fields[1]), head.split("(", 1)[1], ticks)
    return found


def _tree(pid: int, processes: dict[int, _Process]) -> list[int]:
    """``pid`` and its descendants (a launcher may leave a child doing the work)."""
    children: dict[int, list[int]] = {}
    for member, process in processes.items():
        children.setdefault(process.parent, []).append(member)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


TICKS = os.sysconf("SC_CLK_TCK")
SERVICES_BY_NAME = ("postgres", "redis-server")  # started by scripts/test-services.sh, outside the stack's tree


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time used so far by each named process and its descendants, PostgreSQL and Redis, and this process.

    A difference of two readings over a stage is the CPU each part of the
    stack spent on that stage's messages (``bench`` prints it per message).
    """
    now = _processes()

    def ticks(members: list[int]) -> float:
        return sum(now[m].ticks for m in members if m in now) / TICKS

    used = {name: ticks(_tree(pid, now)) for name, pid in pids.items()}
    for service in SERVICES_BY_NAME:
        used[service] = ticks([member for member, process in now.items() if process.name == service])
    used["load generator"] = ticks([os.getpid()])
    return used


def machine_seconds() -> dict[str, float]:
    """CPU seconds of the whole machine so far, from /proc/stat: ``busy``, ``steal`` and ``all`` (every core).

    ``steal`` is time the hypervisor gave this machine's cores to someone
    else: a slow run with much of it was slowed by a neighbour, not the stack.
    """
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq
    return {"busy": busy / TICKS, "steal": steal / TICKS, "all": (busy + idle + iowait + steal) / TICKS}


def rss_parts(pid: int, processes: dict[int, _Process] | None = None) -> tuple[float, float]:
    """Resident memory of a process and its descendants, in MiB: (anonymous, file-backed and shared).

    The split tells heap growth (anonymous) from mapped libraries and model
    files (file-backed), which the kernel may map more or less of.
    """
    anon = other = 0
    for member in _tree(pid, processes if processes is not None else _processes()):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    anon += int(line.split()[1])
                elif line.startswith(("RssFile:", "RssShmem:")):
                    other += int(line.split()[1])
        except OSError:
            continue
    return anon / 1024, other / 1024


@dataclass
class MemoryWatch:
    """Samples the resident memory of named processes; peaks, and whether memory grew over a soak."""

    pids: dict[str, int]
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    at_peak: dict[str, tuple[float, float]] = field(default_factory=dict)  # (anonymous, file) MiB at the peak

    def sample(self) -> None:
        """Read every process's memory now."""
        now, processes = time.monotonic(), _processes()
        for name, pid in self.pids.items():
            anon, other = rss_parts(pid, processes)
            if anon + other > sum(self.at_peak.get(name, (0.0, 0.0))):  # the peak so far, without a scan
                self.at_peak[name] = (anon, other)
            self.series.setdefault(name, []).append((now, anon + other))

    def first(self, name: str) -> float:
        """The first memory sampled for a process (right after start-up), in MiB."""
        series = self.series.get(name)
        return series[0][1] if series else 0.0

    def peak(self, name: str) -> float:
        """The highest memory seen for a process, in MiB (kept by :meth:`sample`)."""
        return sum(self.at_peak.get(name, (0.0, 0.0)))

    def growth(self, name: str, since: float, until: float, window: float = 60.0) -> tuple[float, float]:
        """Median memory in the first and in the last ``window`` seconds of [since, until]."""
        points = [(t, mib) for t, mib in self.series.get(name, []) if since <= t <= until]
        first = [mib for t, mib in points if t <= since + window]
        last = [mib for t, mib in points if t >= until - window]
        if not first or not last:
            return 0.0, 0.0
        return statistics.median(first), statistics.median(last)
