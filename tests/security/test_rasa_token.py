"""RASA_TOKEN is on no command line and in no log line of the running stack (issue 26, item 6).

With the token anyone on the machine reads every tracker (raw phone
numbers) and swaps the model. It used to be an argument of ``rasa run``
(``ps`` showed it) and a query parameter of the web app's calls to Rasa,
which httpx logs (``GET …/status?token=…``) whenever an admin opened the
models page. The real stack is started here with a token of its own and
debug logging; an admin opens the models page (which asks Rasa's
``/status``) and the page shows the loaded model, so the call was
authenticated; then every process's command line and every log line is
searched for the token and for the JWT secret derived from it.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from backend.model_store import ensure_model
from backend.rasa_auth import RasaAuth, jwt_secret
from backend.settings import load_settings
from backend.training.rasa_server import RasaServer
from tests.e2e.stack import Stack

TOKEN = f"sst-rasa-{uuid.uuid4().hex}"
PASSWORD = "token-admin-password"
NAMES = ("rasa", "actions", "web", "worker")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = load_settings(require_secrets=False)
    ensure_model(settings.model_dir, env={**os.environ, **settings.rasa_environment()})
    stack = Stack.prepare(tmp_path_factory.mktemp("token-stack"), settings.model_dir)
    stack.env.update({"RASA_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG"})
    stack.command("accounts", "add", "token-admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    try:
        yield stack.up()
    finally:
        stack.stop_all()


def command_lines() -> dict[int, str]:
    """Every process's command line on this machine, arguments joined by spaces."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
    return found


def test_the_token_is_on_no_command_line(stack: Stack):
    lines = command_lines()
    rasa = lines[stack.procs["rasa"].pid]
    assert "rasa run" in rasa and "--enable-api" in rasa, rasa  # the server itself, after the launcher's exec
    for pid, line in lines.items():
        assert TOKEN not in line, f"process {pid} shows the token: {line}"
        assert jwt_secret(TOKEN) not in line, f"process {pid} shows the JWT secret: {line}"


def test_rasa_accepts_the_stacks_jwt_and_refuses_a_forged_one(stack: Stack):
    assert httpx.get(f"{stack.rasa_url}/status", headers=RasaAuth(TOKEN).headers(), timeout=10).status_code == 200
    guessed = "a-guessed-secret-of-the-right-length-32"
    forged = jwt.encode({"user": {"username": "x", "role": "admin"}}, guessed, algorithm="HS256")
    refused = httpx.get(f"{stack.rasa_url}/status", headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert refused.status_code == 401
    assert httpx.get(f"{stack.rasa_url}/status", timeout=10).status_code == 401
    server = RasaServer(stack.rasa_url, TOKEN)  # what promotion and rollback use: PUT /model with the JWT
    loaded = load_settings(require_secrets=False).model_dir / Path(server.status()["model_file"]).name
    server.replace_model(loaded)
    assert server.loaded_model() == loaded.name.removesuffix(".tar.gz")


def test_the_models_page_asks_rasa_and_no_log_line_holds_the_token(stack: Stack):
    with httpx.Client(base_url=stack.web_url, timeout=60) as client:
        login = re.search(r'name="login_token" value="([^"]+)"', client.get("/console/login").text)
        assert login is not None
        client.post(
            "/console/login", data={"username": "token-admin", "password": PASSWORD, "login_token": login.group(1)}
        )
        for _ in range(2):
            page = client.get("/console/models")
            assert page.status_code == 200, page.text[:500]
            assert 'data-testid="loaded"' in page.text and "没有连上" not in page.text  # /status answered
    stack.stop_all()  # every log complete
    logs = {name: (stack.workdir / f"{name}.log").read_text(errors="replace") for name in NAMES}
    for name, text in logs.items():
        assert TOKEN not in text, f"the token is in the {name} log"
        assert jwt_secret(TOKEN) not in text, f"the JWT secret is in the {name} log"
    assert re.search(r"HTTP Request: GET http://127\.0\.0\.1:\d+/status\b", logs["web"]), "the call was not logged"
    assert "token=" not in logs["web"], "the web app put a token in a URL"
