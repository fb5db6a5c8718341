"""X-Forwarded-For is believed only from the proxies named in TRUSTED_PROXIES (issue 26, item 7).

uvicorn takes the client address from ``X-Forwarded-For`` whenever the
connection comes from 127.0.0.1, unless told otherwise: a caller on the
machine (or behind a proxy that passes the header on) sent a new address
with every request and the triage API's per-address limit never applied.
The web app is started here as ``make run`` starts it (``python -m backend
serve web``) with a low limit, and called from 127.0.0.1 with a different
forwarded address each time.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from backend.settings import PROJECT_ROOT
from tests.e2e.stack import REDIS_URL, free_port

REQUESTS = 40  # the triage burst at RATE_LIMIT_PER_MINUTE=1 is 30


@contextmanager
def web(database_url: str, tmp_path: Path, trusted: str) -> Iterator[str]:
    """The web app, started by the launcher with ``TRUSTED_PROXIES=trusted``; its base URL."""
    port = free_port()
    if REDIS_URL:  # the limits live in Redis in the production profile: each app starts with empty buckets
        redis.Redis.from_url(REDIS_URL).flushdb()
    env = {k: v for k, v in os.environ.items() if k not in {"FORWARDED_ALLOW_IPS", "TRUSTED_PROXIES"}}
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "forwarded-secret",
            "RASA_TOKEN": "forwarded-token",
            "RASA_URL": f"http://127.0.0.1:{free_port()}",  # not needed: empty texts never reach Rasa
            "WEB_PORT": str(port),
            "RATE_LIMIT_PER_MINUTE": "1",
            "REDIS_URL": REDIS_URL,
            "TRUSTED_PROXIES": trusted,
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )
    log = (tmp_path / f"web-{port}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "web"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / f"web-{port}.log").read_text(errors="replace")[-3000:]
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the web app did not start"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def triage(url: str, forwarded: str) -> int:
    response = httpx.post(f"{url}/api/triage", json={"text": ""}, headers={"X-Forwarded-For": forwarded}, timeout=10)
    return response.status_code


def new_address() -> str:
    return f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.mark.parametrize("trusted", ["", "192.0.2.10"], ids=["no-proxy", "another-proxy"])
def test_a_rotating_forwarded_address_does_not_lift_the_limit(database_url: str, tmp_path: Path, trusted: str):
    with web(database_url, tmp_path, trusted) as url:
        statuses = [triage(url, new_address()) for _ in range(REQUESTS)]
    assert statuses[0] == 200
    assert 429 in statuses, "every request got through: the forwarded addresses were believed"


def test_a_trusted_proxys_forwarded_address_is_the_client(database_url: str, tmp_path: Path):
    with web(database_url, tmp_path, "127.0.0.1") as url:
        one = new_address()
        statuses = [triage(url, one) for _ in range(REQUESTS)]
        assert 429 in statuses  # one resident behind the proxy is limited ...
        assert triage(url, new_address()) == 200  # ... and another behind the same proxy is not


@pytest.mark.parametrize("value", ["*", "nginx.local", "127.0.0.1,10.0.0.0/33"])
def test_a_malformed_proxy_list_stops_the_web_app_with_a_message(value: str):
    env = {**os.environ, "SECRET_KEY": "k", "RASA_TOKEN": "t", "TRUSTED_PROXIES": value, "WEB_PORT": str(free_port())}
    result = subprocess.run(
        [sys.executable, "-m", "backend", "serve", "web"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "TRUSTED_PROXIES" in result.stderr, result.stderr[-1000:]
