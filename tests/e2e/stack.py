"""Start the real stack (Rasa, action server, web app, worker) on free loopback ports.

Each process is started exactly as the Procfile starts it
(``python -m backend serve NAME``) with its own temporary databases, so the
end-to-end tests exercise the same launcher, settings and endpoints.yml that
``make run`` uses. Processes can be stopped and started again to simulate
outages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from backend.settings import PROJECT_ROOT

# Set by `make test`'s production-profile run (scripts/test-services.sh env): the same end-to-end
# tests then run on PostgreSQL (backend and Rasa's tracker store) and Redis (Rasa's lock store).
POSTGRES_ADMIN_URL = os.environ.get("E2E_POSTGRES_URL", "")
REDIS_URL = os.environ.get("E2E_REDIS_URL", "")


def fresh_postgres_database(admin_url: str, prefix: str) -> str:
    """Create an empty database next to ``admin_url``'s; its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", future=True)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """A running stack; ``env`` is the environment every process gets."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def prepare(
        cls, workdir: Path, model_dir: Path, postgres_admin_url: str | None = None, redis_url: str | None = None
    ) -> Stack:
        """Databases migrated and the demo registry loaded; nothing started yet.

        The profile comes from E2E_POSTGRES_URL / E2E_REDIS_URL unless given here.
        """
        postgres_admin_url = POSTGRES_ADMIN_URL if postgres_admin_url is None else postgres_admin_url
        redis_url = REDIS_URL if redis_url is None else redis_url
        rasa, actions, web = free_port(), free_port(), free_port()
        env = {
            k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TRACKER_STORE_URL", "TELEGRAM_BOT_TOKEN"}
        }
        env.update(
            {
                "DATABASE_URL": f"sqlite:///{workdir / 'backend.db'}",
                "TRACKER_STORE_URL": f"sqlite:///{workdir / 'tracker.db'}",
                "SECRET_KEY": "e2e-secret",
                "RASA_TOKEN": "e2e-token",
                "RASA_PORT": str(rasa),
                "RASA_URL": f"http://127.0.0.1:{rasa}",
                "ACTIONS_PORT": str(actions),
                "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions}/webhook",
                "WEB_PORT": str(web),
                "MODEL_DIR": str(model_dir),
                "UPLOAD_DIR": str(workdir / "uploads"),
                "WORKER_HEARTBEAT_FILE": str(workdir / "worker.heartbeat"),
                # every simulated resident comes from this machine: limited per visitor, not per address
                "RATE_LIMIT_EXEMPT": "127.0.0.1",
                "PYTHONWARNINGS": "ignore",
            }
        )
        if postgres_admin_url:  # the production profile: PostgreSQL for both stores, Redis for the lock store
            env["DATABASE_URL"] = fresh_postgres_database(postgres_admin_url, "e2e")
            env["TRACKER_STORE_URL"] = fresh_postgres_database(postgres_admin_url, "e2e_tracker")
        if redis_url:
            env["REDIS_URL"] = redis_url
        stack = cls(workdir=workdir, env=env)
        for command in (["db", "upgrade"], ["demo", "load"]):
            subprocess.run([sys.executable, "-m", "backend", *command], env=env, cwd=PROJECT_ROOT, check=True)
        return stack

    @property
    def rasa_url(self) -> str:
        return self.env["RASA_URL"]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    def command(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        """Run ``python -m backend ARGS`` against this stack's databases; its standard output."""
        result = subprocess.run(
            [sys.executable, "-m", "backend", *args],
            input=stdin,
            env=self.env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def start(self, name: str, extra_env: dict[str, str] | None = None, serve: str | None = None) -> None:
        """Start ``python -m backend serve SERVE`` (SERVE defaults to NAME) as the process called NAME."""
        log = (self.workdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", serve or name],
            env={**self.env, **(extra_env or {})},
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def up(self) -> Stack:
        """Every process of the stack running and answering: started where it is not running, then waited for."""
        for name in ("rasa", "actions", "web", "worker"):
            if name not in self.procs or self.procs[name].poll() is not None:
                self.start(name)
        for name in ("actions", "web", "worker", "rasa"):
            self.wait_ready(name)
        return self

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def wait_ready(self, name: str, timeout: float = 180) -> None:
        """Wait until the named process answers its health URL."""
        urls = {
            "rasa": f"{self.rasa_url}/status?token={self.env['RASA_TOKEN']}",
            "actions": f"http://127.0.0.1:{self.env['ACTIONS_PORT']}/health",
            "web": f"{self.web_url}/healthz",
        }
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log(name)}")
            if name not in urls:
                return
            try:
                response = httpx.get(urls[name], timeout=2)
                if response.status_code == 200 and (name != "rasa" or response.json().get("model_file")):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{name} not ready after {timeout}s:\n{self.log(name)}")


def say(stack: Stack, sender: str, message: str) -> list[dict]:
    """Send one message through Rasa's REST channel, as a channel would; Rasa's answers."""
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=60
    )
    assert response.status_code == 200
    return response.json()


def texts(answers: list[dict]) -> str:
    """The text of all answers, one per line."""
    return "\n".join(a.get("text", "") for a in answers)


def close_open_tickets(stack: Stack) -> None:
    """Mark every open ticket closed: a test that files a problem starts in a district with none.

    Every folder's tests share one stack, and an open ticket of the same
    category at the same building or road turns a new report into the offer
    to follow it; a test written to stand alone clears that state first.
    """
    from sqlalchemy import bindparam, create_engine, text

    from backend.tickets.lifecycle import OPEN_STATUSES

    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE tickets SET status = 'closed' WHERE status IN :open").bindparams(
                    bindparam("open", expanding=True)
                ),
                {"open": sorted(OPEN_STATUSES)},
            )
    finally:
        engine.dispose()
