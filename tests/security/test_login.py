"""The console login under attack (issue 26, item 5).

A probe sent 30 parallel logins for one account, 29 wrong and the right one
16th: every password was checked and the right one got in. 40 parallel
logins for made-up names took the web process from 183 MB to 1.13 GB
(64 MiB per Argon2 check) and the chat from 0.07 s to 3.5 s. Here the web
app runs under uvicorn on a loopback port and the logins are real parallel
HTTP requests; the password check is wrapped (never replaced) to count how
many run, and how many at once. The lock's timing uses the service's
``now``, not the clock on the wall.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import argon2
import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from backend.console import login as console_login
from backend.console import login_lockout, passwords
from backend.console.accounts import create_account
from backend.console.login_lockout import MAX_FAILURES, LoginRefused
from backend.models import AuditEntry
from backend.settings import PROJECT_ROOT
from backend.web.app import create_app
from tests.console_client import PASSWORD, console_app, login
from tests.e2e.stack import free_port

TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
MOST_AT_ONCE = 4  # x 64 MiB per Argon2 check: the most a burst of logins may add to the web process


class CountedChecks:
    """Wraps the real password check: how many ran, the most at once, and which passwords were tried."""

    def __init__(self, real: Callable[..., bool]) -> None:
        self.real = real
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.passwords: list[str] = []

    def __call__(self, stored_hash: str | None, password: str) -> bool:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.passwords.append(password)
        try:
            return self.real(stored_hash, password)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture()
def checks(monkeypatch: pytest.MonkeyPatch) -> CountedChecks:
    counted = CountedChecks(console_login.verify_password)
    monkeypatch.setattr(console_login, "verify_password", counted)
    return counted


def add_account(sessions: Any, username: str, *, cheap: bool = False) -> None:
    """An operator account; ``cheap``: its hash made with small Argon2 parameters (a real check, in milliseconds)."""
    with sessions.begin() as s:
        account = create_account(
            session=s, username=username, display_name=username, role="operator", password=PASSWORD, now=NOW
        )
        if cheap:  # the lock tests check dozens of passwords; the parameters live in the hash
            account.password_hash = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@pytest.fixture()
def serve(settings: Any) -> Iterator[Callable[..., str]]:
    """Start the web app under uvicorn on a free loopback port (with changed settings); its base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**changes: Any) -> str:
        port = free_port()
        app = create_app(dataclasses.replace(settings, **changes))
        served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
        thread = threading.Thread(target=served.run, daemon=True)
        thread.start()
        servers.append((served, thread))
        deadline = time.monotonic() + 30
        while not served.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    yield start
    for served, thread in servers:
        served.should_exit = True
        thread.join(timeout=15)


def parallel_logins(base: str, attempts: list[tuple[str, str]]) -> list[httpx.Response]:
    """Each (username, password) from its own client with its own form, all sent at the same moment."""
    clients = [httpx.Client(base_url=base, timeout=120) for _ in attempts]
    tokens = [TOKEN.search(c.get("/console/login").text).group(1) for c in clients]  # type: ignore[union-attr]
    start = threading.Barrier(len(attempts))
    results: list[httpx.Response | None] = [None] * len(attempts)

    def send(i: int) -> None:
        username, password = attempts[i]
        start.wait()
        results[i] = clients[i].post(
            "/console/login", data={"username": username, "password": password, "login_token": tokens[i]}
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


# --- the race --------------------------------------------------------------------------------------


def test_thirty_parallel_logins_check_at_most_the_allowed_number_of_passwords(
    settings, sessions, serve, checks, monkeypatch
):
    add_account(sessions, "zhangmin")
    monkeypatch.setattr(passwords, "CHECK_WAIT_SECONDS", 60.0, raising=False)  # no one turned away as busy here
    base = serve(rate_limit_per_minute=0)  # the address limit is tried on its own below
    attempts = [("zhangmin", f"wrong-password-{i:02d}") for i in range(29)]
    attempts.insert(15, ("zhangmin", PASSWORD))  # the right one, 16th

    responses = parallel_logins(base, attempts)

    wrong = [p for p in checks.passwords if p != PASSWORD]
    assert len(wrong) <= MAX_FAILURES, f"{len(wrong)} wrong passwords checked for one account"
    right = responses[15]
    if PASSWORD in checks.passwords:  # the right one was among the allowed checks: it may log in
        assert right.status_code == 303 and right.headers["location"].startswith("/console")
    else:
        assert right.status_code == 401 and "锁定" in right.text
        with httpx.Client(base_url=base) as c:  # the account stays locked, even for the right password
            token = TOKEN.search(c.get("/console/login").text).group(1)  # type: ignore[union-attr]
            again = c.post("/console/login", data={"username": "zhangmin", "password": PASSWORD, "login_token": token})
        assert again.status_code == 401 and "锁定" in again.text
        assert len(checks.passwords) == MAX_FAILURES
    locked = [r for r in responses if r.status_code == 401 and "锁定" in r.text]
    assert len(locked) >= len(attempts) - len(checks.passwords)  # every attempt not checked was refused as locked
    with sessions() as s:  # every attempt is in the audit trail, the locked ones as such
        refused = s.scalars(select(AuditEntry).filter_by(action="login", outcome="refused")).all()
        assert sum(1 for e in refused if e.detail.get("why") == "locked") >= len(attempts) - len(checks.passwords)


def test_a_right_password_taking_back_its_count_never_erases_a_wrong_one_counted_meanwhile(sessions, engine, checks):
    """The race behind a sixth wrong password checked in a loaded run: the taking back wrote a stale count."""
    add_account(sessions, "zhoujie", cheap=True)
    with sessions.begin() as s:  # the right password's attempt, counted first
        right = login_lockout.begin_login(session=s, username="zhoujie", now=NOW, client=None)
    for _ in range(MAX_FAILURES - 3):
        assert attempt(sessions, "zhoujie", "wrong-password-1", NOW) == "wrong"
    taking_back = threading.get_ident()
    other = threading.Thread(target=attempt, args=(sessions, "zhoujie", "wrong-password-2", NOW))

    def wrong_one_right_after_the_read(_conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == taking_back and "login_throttle" in statement and other.ident is None:
            other.start()
            other.join(timeout=0.5)  # it must wait for the taking back to commit

    event.listen(engine, "after_cursor_execute", wrong_one_right_after_the_read)
    try:
        with sessions.begin() as s:  # its password was right: its count is taken back
            console_login.finish_login(
                session=s, attempt=right, password_ok=True, password=PASSWORD, now=NOW, client=None
            )
    finally:
        event.remove(engine, "after_cursor_execute", wrong_one_right_after_the_read)
    other.join(timeout=30)
    assert not other.is_alive()
    # three wrong ones count: two more are checked, the second of them sets the lock
    assert [attempt(sessions, "zhoujie", "wrong-password-3", NOW) for _ in range(3)] == ["wrong", "wrong", "locked"]
    assert attempt(sessions, "zhoujie", PASSWORD, NOW) == "locked"
    assert len([p for p in checks.passwords if p != PASSWORD]) == MAX_FAILURES


# --- memory: the checks in flight ------------------------------------------------------------------


def test_forty_parallel_logins_for_unknown_names_run_at_most_the_bound_of_checks_at_once(serve, checks):
    base = serve(rate_limit_per_minute=0)
    done = threading.Event()
    page_times: list[float] = []

    def meanwhile() -> None:  # another page of the same process, while the logins wait
        with httpx.Client(base_url=base, timeout=60) as c:
            while not done.is_set():
                started = time.monotonic()
                assert c.get("/console/login").status_code == 200
                page_times.append(time.monotonic() - started)
                time.sleep(0.2)

    other = threading.Thread(target=meanwhile)
    other.start()
    try:
        responses = parallel_logins(base, [(f"nobody-{i}", "some-password-1") for i in range(40)])
    finally:
        done.set()
        other.join()

    assert checks.most <= MOST_AT_ONCE, f"{checks.most} password checks ran at once"
    assert checks.most <= passwords.MAX_CHECKS_IN_FLIGHT
    assert {r.status_code for r in responses} <= {401, 503}
    assert any(r.status_code == 401 for r in responses)
    for busy in (r for r in responses if r.status_code == 503):
        assert "登录的人太多" in busy.text and busy.headers["Retry-After"].isdigit()
    assert len(checks.passwords) == sum(1 for r in responses if r.status_code == 401)
    # waiting logins hold no worker thread: the process's other pages still answer
    assert page_times and max(page_times) < 5.0, page_times


# --- the lock: time-limited, growing, not kept forever -----------------------------------------------


def attempt(sessions: Any, username: str, password: str, now: datetime) -> str:
    try:
        console_login.log_in(sessions=sessions, username=username, password=password, now=now, client="203.0.113.9")
    except LoginRefused as exc:
        return "locked" if "锁定" in str(exc) else "wrong"
    return "in"


def test_the_lock_ends_by_itself_and_grows_with_each_round(sessions, checks):
    add_account(sessions, "lina", cheap=True)
    delays = [timedelta(minutes=m) for m in (1, 5, 15, 60, 60)]
    now = NOW
    for delay in delays:
        for _ in range(MAX_FAILURES):
            assert attempt(sessions, "lina", "wrong-password-1", now) == "wrong"
        checked = len(checks.passwords)
        # while locked: refused without a check, even the right password, and the lock does not grow
        for offset in (timedelta(seconds=1), delay / 2, delay - timedelta(seconds=1)):
            assert attempt(sessions, "lina", PASSWORD, now + offset) == "locked"
        assert len(checks.passwords) == checked
        now += delay
    assert attempt(sessions, "lina", PASSWORD, now) == "in"  # the round after the lock: the right one gets in
    for _ in range(MAX_FAILURES):  # a success does not shorten the next lock (only a quiet day does)
        assert attempt(sessions, "lina", "wrong-password-1", now) == "wrong"
    assert attempt(sessions, "lina", PASSWORD, now + timedelta(minutes=59)) == "locked"
    assert attempt(sessions, "lina", PASSWORD, now + timedelta(minutes=60)) == "in"


def test_right_passwords_never_count_toward_a_lock(sessions, checks):
    add_account(sessions, "chenjing", cheap=True)
    for i in range(3 * MAX_FAILURES):  # logging in often
        assert attempt(sessions, "chenjing", PASSWORD, NOW + timedelta(seconds=i)) == "in"
    for _ in range(MAX_FAILURES - 1):  # four typos, then the right one: the fifth attempt, which set the lock
        assert attempt(sessions, "chenjing", "wrong-password-1", NOW + timedelta(minutes=1)) == "wrong"
    assert attempt(sessions, "chenjing", PASSWORD, NOW + timedelta(minutes=1)) == "in"
    assert attempt(sessions, "chenjing", PASSWORD, NOW + timedelta(minutes=2)) == "in"  # its lock went with it
    # the four typos still count in their window: one more wrong one locks
    assert attempt(sessions, "chenjing", "wrong-password-1", NOW + timedelta(minutes=3)) == "wrong"
    assert attempt(sessions, "chenjing", PASSWORD, NOW + timedelta(minutes=3, seconds=30)) == "locked"


def test_old_failures_stop_counting_and_old_locks_are_forgotten(sessions):
    add_account(sessions, "wangfang", cheap=True)
    for i in range(MAX_FAILURES - 1):
        assert attempt(sessions, "wangfang", "wrong-password-1", NOW + timedelta(minutes=i)) == "wrong"
    later = NOW + timedelta(minutes=4) + login_lockout.FAILURE_WINDOW + timedelta(seconds=1)
    for _ in range(MAX_FAILURES - 1):  # four more, twenty minutes on: the first four no longer count
        assert attempt(sessions, "wangfang", "wrong-password-1", later) == "wrong"
    assert attempt(sessions, "wangfang", "wrong-password-1", later) == "wrong"  # the fifth of this round
    assert attempt(sessions, "wangfang", PASSWORD, later + timedelta(seconds=30)) == "locked"
    next_day = later + login_lockout.LOCKS_FORGOTTEN_AFTER + timedelta(minutes=2)
    for _ in range(MAX_FAILURES):
        assert attempt(sessions, "wangfang", "wrong-password-1", next_day) == "wrong"
    assert attempt(sessions, "wangfang", PASSWORD, next_day + timedelta(seconds=61)) == "in"  # a minute again


# --- unlock: the command line and the console, both audited --------------------------------------------


def form_login(app: Any, username: str, password: str) -> httpx.Response:
    client = TestClient(app)
    token = TOKEN.search(client.get("/console/login").text).group(1)  # type: ignore[union-attr]
    data = {"username": username, "password": password, "login_token": token}
    return client.post("/console/login", data=data, follow_redirects=False)


def lock(app: Any, username: str) -> None:
    for _ in range(MAX_FAILURES):
        assert form_login(app, username, "wrong-password-1").status_code == 401
    refused = form_login(app, username, PASSWORD)
    assert refused.status_code == 401 and "失败次数太多" in refused.text


def test_an_admin_unlocks_from_the_command_line(database_url, settings, registry):
    with console_app(settings, registry) as app:
        lock(app, "operator")
        env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "RASA_TOKEN")}
        env["DATABASE_URL"] = database_url
        result = subprocess.run(
            [sys.executable, "-m", "backend", "accounts", "unlock", "Operator"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "已解锁 operator" in result.stdout
        assert form_login(app, "operator", PASSWORD).status_code == 303
    with registry() as s:
        entry = s.scalars(select(AuditEntry).filter_by(action="account.unlock")).one()
        assert entry.target == "operator" and entry.username.startswith("cli:") and entry.detail == {"was_locked": True}
    missing = subprocess.run(
        [sys.executable, "-m", "backend", "accounts", "unlock", "no-such-name"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode != 0 and "没有账号 no-such-name" in (missing.stdout + missing.stderr)


def test_an_admin_unlocks_in_the_console_with_the_forms_token(settings, registry):
    with console_app(settings, registry) as app:
        admin, csrf = login(app, "admin")
        lock(app, "operator")
        page = admin.get("/console/accounts/locked")
        assert page.status_code == 200 and "operator" in page.text
        forged = admin.post("/console/accounts/unlock", data={"username": "operator", "csrf": "x"})
        assert forged.status_code == 403
        assert "失败次数太多" in form_login(app, "operator", PASSWORD).text
        done = admin.post("/console/accounts/unlock", data={"username": "operator", "csrf": csrf})
        assert done.status_code == 200 and "已解锁 operator" in done.text
        assert form_login(app, "operator", PASSWORD).status_code == 303
        with registry() as s:
            entries = s.scalars(select(AuditEntry).filter_by(action="account.unlock")).all()
            assert [(e.username, e.target, e.outcome) for e in entries] == [("admin", "operator", "ok")]
            assert s.scalars(select(AuditEntry).filter_by(action="csrf", outcome="refused")).all()
        for role in ("operator", "community_staff"):  # nobody but an admin
            other, other_csrf = login(app, role)
            assert other.get("/console/accounts/locked").status_code == 403
            refused = other.post("/console/accounts/unlock", data={"username": "admin", "csrf": other_csrf})
            assert refused.status_code == 403


# --- unknown names cost the same -----------------------------------------------------------------------


class RecordedHashes:
    """Wraps Argon2's verify: the hash each check was made against (so its memory and time cost)."""

    def __init__(self, real: argon2.PasswordHasher) -> None:
        self.real = real
        self.hashes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def verify(self, stored: str, password: str) -> bool:
        self.hashes.append(stored)
        return self.real.verify(stored, password)


def test_an_unknown_name_takes_the_same_path_as_a_known_one(settings, registry, monkeypatch):
    recorded = RecordedHashes(passwords._HASHER)
    monkeypatch.setattr(passwords, "_HASHER", recorded)
    with console_app(settings, registry) as app:
        answers = {}
        for name in ("operator", "no-such-user"):
            client = TestClient(app)
            token = TOKEN.search(client.get("/console/login").text).group(1)  # type: ignore[union-attr]
            response = client.post(
                "/console/login", data={"username": name, "password": "wrong-password-1", "login_token": token}
            )
            answers[name] = (response.status_code, re.sub(r'value="[^"]*"', "", response.text))
        assert answers["operator"] == answers["no-such-user"]
        assert len(recorded.hashes) == 2
        known, unknown = (argon2.extract_parameters(h) for h in recorded.hashes)
        assert known == unknown  # the same memory, time and lanes
        for name in ("operator", "no-such-user"):  # the lock is the same too (one failure is counted already)
            for _ in range(MAX_FAILURES - 1):
                assert "用户名或密码不对" in form_login(app, name, "wrong-password-1").text
            locked = form_login(app, name, "wrong-password-1")
            answers[name] = (locked.status_code, re.sub(r'value="[^"]*"', "", locked.text))
            assert "失败次数太多" in locked.text
        assert answers["operator"] == answers["no-such-user"]
        assert len(recorded.hashes) == 2 + 2 * (MAX_FAILURES - 1)


# --- per client address ----------------------------------------------------------------------------------


def test_one_address_cannot_try_names_without_limit(settings, registry, monkeypatch):
    from backend.web.console import auth as console_auth

    if os.environ.get("E2E_REDIS_URL"):  # the production profile: the limit is shared through Redis
        import redis

        url = os.environ["E2E_REDIS_URL"]
        with redis.Redis.from_url(url) as r:
            for key in r.scan_iter("santong:rate:login:*"):
                r.delete(key)
        settings = dataclasses.replace(settings, redis_url=url)
    with console_app(settings, registry) as app:
        client = TestClient(app)
        statuses = []
        for i in range(60):  # forms without their token: refused before any password check, but counted
            data = {"username": f"guess-{i}", "password": "x", "login_token": ""}
            statuses.append((over := client.post("/console/login", data=data)).status_code)
            if over.status_code != 400:
                break
        assert statuses[-1] == 429, f"{len(statuses)} tries from one address, none refused"
        assert statuses.count(400) == console_auth.LOGIN_BURST
        assert "登录尝试太频繁" in over.text and int(over.headers["Retry-After"]) >= 1
        elsewhere = TestClient(app, client=("198.51.100.7", 50000))  # another address is not affected
        token = TOKEN.search(elsewhere.get("/console/login").text).group(1)  # type: ignore[union-attr]
        data = {"username": "admin", "password": PASSWORD, "login_token": token}
        assert elsewhere.post("/console/login", data=data, follow_redirects=False).status_code == 303
