"""``/healthz`` says 503 when a resident would not be answered, and names the part (issue 26, item 9).

With the action server stopped, ``/healthz`` said ok while residents waited
30 s for "系统繁忙". Here the parts are real: the test's database, HTTP
servers on loopback ports standing in for Rasa and the action server (then
stopped, or hung), the heartbeat file the real worker process writes, a
Redis port nobody listens on; and, at the end, the real stack with its
action server and its worker stopped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.settings import PROJECT_ROOT, Settings, load_settings
from backend.web.app import create_app
from tests.e2e.stack import Stack, free_port


class _Answer(BaseHTTPRequestHandler):
    """Answers every GET with 200 (Rasa's ``/`` and rasa-sdk's ``/health`` both do), or hangs when told."""

    def do_GET(self) -> None:
        if self.server.hang.is_set():  # type: ignore[attr-defined]
            self.server.release.wait(10)  # type: ignore[attr-defined]
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Standin:
    """A real HTTP server on a loopback port that can be stopped or made to hang."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        self.server.daemon_threads = True
        self.server.hang = threading.Event()  # type: ignore[attr-defined]
        self.server.release = threading.Event()  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.release.set()  # type: ignore[attr-defined]
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture()
def standins() -> Iterator[dict[str, Standin]]:
    servers = {"rasa": Standin(), "rasa2": Standin(), "actions": Standin()}
    yield servers
    for server in servers.values():
        server.stop()


def _beat(tmp_path: Path) -> Path:
    return tmp_path / "worker.heartbeat"


def _settings(database_url: str, tmp_path: Path, standins: dict[str, Standin], **extra: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "RASA_TOKEN": "test-rasa-token",
            "RASA_URL": standins["rasa"].url,
            "ACTION_ENDPOINT_URL": f"{standins['actions'].url}/webhook",
            "WORKER_HEARTBEAT_FILE": str(_beat(tmp_path)),
            "WORKER_HEARTBEAT_STALE_SECONDS": "30",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            **extra,
        }
    )


SHARED_FOR = 1.0  # seconds one answer of /healthz is shared (backend.web.health.CACHE_SECONDS)
TIMEOUT = 1.5  # each check's bound (backend.web.health.TIMEOUT_SECONDS)


def heartbeat(path: Path) -> None:
    """A fresh heartbeat, as the worker leaves it each round (the real worker's is tested below)."""
    path.touch()


def _health(client: TestClient) -> httpx.Response:
    time.sleep(SHARED_FOR)  # past the shared answer of the previous check
    return client.get("/healthz")


def _states(response: httpx.Response) -> dict[str, str]:
    return {part["name"]: part["state"] for part in response.json()["parts"]}


def test_every_part_up_is_ok_with_each_state_and_latency(database_url, tmp_path, standins):
    settings = _settings(database_url, tmp_path, standins)
    heartbeat(_beat(tmp_path))
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert _states(response) == {"database": "ok", "rasa": "ok", "action_server": "ok", "worker": "ok"}
    assert all(part["latency_ms"] >= 0 and part["critical"] for part in body["parts"])


def test_the_action_server_stopped_is_503_and_named(database_url, tmp_path, standins):
    settings = _settings(database_url, tmp_path, standins)
    heartbeat(_beat(tmp_path))
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        standins["actions"].stop()
        response = _health(client)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable" and response.json()["failing"] == ["action_server"]
    assert response.headers["Retry-After"]
    # Public endpoint: parts are named, their addresses are not.
    assert str(standins["actions"].port) not in response.text


def test_a_stale_heartbeat_is_503_and_names_the_worker(database_url, tmp_path, standins):
    settings = _settings(database_url, tmp_path, standins)
    heartbeat(_beat(tmp_path))
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        old = time.time() - 31
        os.utime(_beat(tmp_path), (old, old))
        stale = _health(client)
        _beat(tmp_path).unlink()
        missing = _health(client)
    assert stale.status_code == 503 and stale.json()["failing"] == ["worker"]
    assert missing.status_code == 503 and missing.json()["failing"] == ["worker"]


def test_the_real_worker_beats_and_its_heartbeat_goes_stale_when_it_stops(database_url, tmp_path, standins):
    settings = _settings(database_url, tmp_path, standins, WORKER_HEARTBEAT_STALE_SECONDS="3")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "SECRET_KEY": "test-secret-key",
        "RASA_TOKEN": "test-rasa-token",
        "RASA_URL": standins["rasa"].url,
        "WORKER_HEARTBEAT_FILE": str(_beat(tmp_path)),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "TELEGRAM_BOT_TOKEN": "",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "worker"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _beat(tmp_path).exists():
            assert worker.poll() is None and time.monotonic() < deadline, "the worker wrote no heartbeat"
            time.sleep(0.2)
        assert _beat(tmp_path).stat().st_mode & 0o777 == 0o600
        with TestClient(create_app(settings)) as client:
            assert client.get("/healthz").status_code == 200
            first = _beat(tmp_path).stat().st_mtime
            time.sleep(SHARED_FOR + 2.5)  # the worker beats every round (2 s)
            assert _beat(tmp_path).stat().st_mtime > first
            assert _health(client).status_code == 200
            worker.terminate()
            worker.wait(timeout=20)
            time.sleep(3.5)
            response = _health(client)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert response.status_code == 503 and response.json()["failing"] == ["worker"]


def test_the_database_down_is_503_and_named(tmp_path, standins):
    dead = f"postgresql://santong@127.0.0.1:{free_port()}/santong"  # nothing listens there
    settings = _settings(dead, tmp_path, standins)
    heartbeat(_beat(tmp_path))
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    # The stand-ins are up, but on a starved machine they may miss the 1.5 s bound too: only the database is asserted.
    assert response.status_code == 503 and response.json()["failing"][0] == "database"
    assert _states(response)["database"] == "down"
    assert "santong@" not in response.text and "OperationalError" not in response.text


def test_one_rasa_server_of_two_down_is_degraded_and_none_is_503(database_url, tmp_path, standins):
    settings = _settings(database_url, tmp_path, standins, RASA_URL=f"{standins['rasa'].url},{standins['rasa2'].url}")
    heartbeat(_beat(tmp_path))
    with TestClient(create_app(settings)) as client:
        standins["rasa2"].stop()
        one = _health(client)
        standins["rasa"].stop()
        none = _health(client)
    assert one.status_code == 200 and one.json()["status"] == "degraded" and one.json()["failing"] == ["rasa-2"]
    assert none.status_code == 503 and none.json()["failing"] == ["rasa-1", "rasa-2"]


def test_redis_down_is_degraded_not_fatal(database_url, tmp_path, standins):
    settings = _settings(database_url, tmp_path, standins, REDIS_URL=f"redis://127.0.0.1:{free_port()}/8")
    heartbeat(_beat(tmp_path))
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["failing"] == ["redis"]


def test_hanging_parts_are_checked_at_once_within_the_timeout(database_url, tmp_path, standins):
    """Rasa and the action server both accept and never answer: one timeout, not two, and both named."""
    settings = _settings(database_url, tmp_path, standins)
    heartbeat(_beat(tmp_path))
    for name in ("rasa", "actions"):
        standins[name].server.hang.set()  # type: ignore[attr-defined]
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get("/healthz")
        took = time.monotonic() - started
    assert response.status_code == 503 and response.json()["failing"] == ["rasa", "action_server"]
    assert took < 2 * TIMEOUT, took


# --- the reproduction: the real stack, its action server and then its worker stopped ---


def _wait_health(url: str, status: int, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url + "/healthz", timeout=10)
            if response.status_code == status or time.monotonic() > deadline:
                return response
        except httpx.TransportError:  # the web app is (re)starting
            assert time.monotonic() < deadline, "the web app does not answer"
        time.sleep(0.5)


@pytest.fixture()
def watched(running: Stack, tmp_path: Path) -> Iterator[tuple[Stack, Path]]:
    """The stack's web app and worker restarted with a heartbeat file of their own, stale after 5 s."""
    beat = tmp_path / "worker.heartbeat"
    extra = {"WORKER_HEARTBEAT_FILE": str(beat), "WORKER_HEARTBEAT_STALE_SECONDS": "5"}
    for name in ("worker", "web"):
        running.stop(name)
        running.start(name, extra)
    for name in ("worker", "web"):
        running.wait_ready(name)  # the web app: /healthz 200, every part up
    try:
        yield running, beat
    finally:
        for name in ("worker", "web", "actions"):
            running.stop(name)
            running.start(name)


@pytest.mark.e2e
def test_the_real_stack_says_503_naming_the_action_server_then_the_worker(watched):
    live, beat = watched
    up = _wait_health(live.web_url, 200, timeout=180)
    assert up.status_code == 200, up.text

    live.stop("actions")
    started = time.monotonic()
    down = _wait_health(live.web_url, 503, timeout=10)
    assert down.status_code == 503, down.text  # it said ok here, while residents waited 30 s
    assert down.json()["failing"] == ["action_server"]
    assert {p["name"] for p in down.json()["parts"]} >= {"database", "rasa", "action_server", "worker"}
    assert time.monotonic() - started < 5
    # Rasa's own channel health still says ok: that is why the web app checks the action server itself.
    assert httpx.get(f"{live.rasa_url}/webhooks/santong/", timeout=10).status_code == 200

    live.start("actions")
    live.wait_ready("actions")
    assert _wait_health(live.web_url, 200).status_code == 200

    live.stop("worker")
    stale = _wait_health(live.web_url, 503, timeout=30)
    assert stale.status_code == 503 and stale.json()["failing"] == ["worker"], stale.text
    assert beat.exists()
