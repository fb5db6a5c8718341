"""The web app's routes declare what they need (:mod:`backend.web.deps`) instead of reading ``app.state``.

The routes themselves are exercised through these dependencies by their own
tests: the chat (``Cookie``, ``Rasa``, ``SenderLocks``, ``Visitor``) by
``test_web_chat.py`` and ``test_web_tickets.py``, the console (``Console``,
``LoginLimiter``, ``DbTransaction`` at logout) by ``test_console.py`` and
``tests/security/test_login.py``, the visitor clock that tests move by
``tests/security/test_visitor_identity.py``, ``/healthz`` by ``test_health.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.models import Estate
from backend.rasa_client import RasaClient
from backend.web import deps
from backend.web.app import create_app
from backend.web.deps import DbTransaction
from tests.rasa_stub import RasaStub

WEB = Path(__file__).resolve().parents[2] / "backend" / "web"
# The app fills app.state; deps reads it for the routes; middleware and the rate limits run outside injection.
MAY_READ_APP_STATE = {"app.py", "deps.py", "middleware.py", "rate_limits.py"}


def test_only_deps_reads_app_state_among_the_routes():
    readers = [
        f"{path.relative_to(WEB)}:{number}"
        for path in sorted(WEB.rglob("*.py"))
        if path.name not in MAY_READ_APP_STATE or path.parent != WEB
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"app\.state\b", line)
    ]
    assert readers == []


def test_a_route_takes_what_its_dependency_gives(settings):
    """Overriding ``get_rasa`` reaches the triage route: it asks deps for the Rasa client, not app.state."""
    seen = []

    def parse(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"intent": {"name": "elevator", "confidence": 0.93}, "entities": []})

    app = create_app(settings)
    with RasaStub(parse) as stub, TestClient(app) as client:
        app.state.rasa = RasaClient("http://127.0.0.1:9", token="tok")  # nothing listens there
        app.dependency_overrides[deps.get_rasa] = lambda: RasaClient(stub.url, token="tok")
        body = client.post("/api/triage", json={"text": "三号楼电梯又坏了"}).json()
    assert body["category"] == "elevator"
    assert seen == ["/model/parse"]


def test_a_transaction_that_cannot_commit_is_not_answered_as_done(settings, registry):
    """``DbTransaction`` commits before the response is sent: a failed commit is an error, never a 200."""
    app = create_app(settings)

    @app.post("/probe")
    def probe(db: DbTransaction) -> dict[str, bool]:
        db.add(Estate(code="no-community", name="无社区小区"))  # community_id is NOT NULL: fails at the commit
        return {"done": True}

    @app.post("/probe-ok")
    def probe_ok(db: DbTransaction) -> dict[str, bool]:
        community = db.scalars(select(Estate)).first()
        assert community is not None
        db.add(Estate(code="probe-ok", name="探针小区", community_id=community.community_id, aliases=[]))
        return {"done": True}

    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.sessions = registry
        failed = client.post("/probe")
        stored = client.post("/probe-ok")
    assert failed.status_code == 500 and "done" not in failed.text
    assert stored.json() == {"done": True}
    with registry() as session:
        codes = set(session.scalars(select(Estate.code)))
    assert "probe-ok" in codes and "no-community" not in codes
