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
from backend.settings import PROJECT_ROOT, load_settings
from tests.e2e.stack import Stack, free_port
from tests.fake_bot_api import TOKEN, FakeBotAPI

STACK_PROCESSES = ("rasa", "actions", "web", "worker", "telegram")


def start_stack(workdir: Path, api: FakeBotAPI) -> Stack:
    """The whole stack on free loopback ports, its own databases, Telegram through ``api``.

    The profile follows the environment exactly as ``make run`` does:
    SQLite by default; with E2E_POSTGRES_URL / E2E_REDIS_URL set
    (``scripts/test-services.sh env``) PostgreSQL and Redis.
    """
    settings = load_settings(require_secrets=False)
    ensure_model(settings.model_dir, env={**os.environ, **settings.rasa_environment()})
    stack = Stack.prepare(workdir, settings.model_dir)
    # Warnings and per-request access lines are not what is measured; the stack logs as configured otherwise.
    for name in ("rasa", "actions", "web", "worker"):
        stack.start(name)
    stack.start("telegram", {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url})
    for name in ("actions", "web", "worker", "rasa", "telegram"):
        stack.wait_ready(name)
    return stack


@dataclass
class BareRasaServer:
    """``rasa run`` with the same model: the REST channel, a SQLite tracker store, no action server."""

    workdir: Path
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
        command = [sys.executable, "-m", "rasa", "run", "--enable-api", "--auth-token", "bench"]
        command += ["--interface", "127.0.0.1", "--port", str(self.port)]
        command += ["--model", str(model_path(settings.model_dir)), "--endpoints", str(endpoints)]
        self.proc = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            # CRITICAL: each custom action's failure would be logged with its traceback, a cost the stack has not.
            env={**os.environ, "PYTHONWARNINGS": "ignore", "LOG_LEVEL": "CRITICAL"},
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bare Rasa exited: see {self.workdir / 'bare-rasa.log'}")
            try:
                if httpx.get(f"{self.url}/status?token=bench", timeout=2).json().get("model_file"):
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


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a launcher may leave a child doing the work)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB (0 when it is gone)."""
    total = 0
    for member in _tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


@dataclass
class MemoryWatch:
    """Samples the resident memory of named processes; peaks, and whether memory grew over a soak."""

    pids: dict[str, int]
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def sample(self) -> None:
        """Read every process's memory now."""
        now = time.monotonic()
        for name, pid in self.pids.items():
            self.series.setdefault(name, []).append((now, rss_mib(pid)))

    def peak(self, name: str) -> float:
        """The highest memory seen for a process, in MiB."""
        return max((mib for _, mib in self.series.get(name, [])), default=0.0)

    def growth(self, name: str, since: float, until: float, window: float = 60.0) -> tuple[float, float]:
        """Median memory in the first and in the last ``window`` seconds of [since, until]."""
        points = [(t, mib) for t, mib in self.series.get(name, []) if since <= t <= until]
        first = [mib for t, mib in points if t <= since + window]
        last = [mib for t, mib in points if t >= until - window]
        if not first or not last:
            return 0.0, 0.0
        return statistics.median(first), statistics.median(last)
