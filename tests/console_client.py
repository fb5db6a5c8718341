"""Console accounts and logged-in test clients, shared by the console's tests.

Every role gets one account (named after the role) with the scope its
work needs in the demo street; :func:`login` goes through the real login
form (its nonce and token) and returns the client with the session's CSRF
token, as a browser would hold them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.console.accounts import create_account
from backend.models import ConsoleSession
from backend.web.app import create_app

PASSWORD = "correct-horse-battery"
SCOPES: dict[str, dict[str, str]] = {
    "admin": {},
    "operator": {},
    "community_staff": {"community": "fl"},
    "grid_member": {"member": "gm-fl-01"},
    "department": {"department": "city-mgmt"},
}


@contextmanager
def console_app(settings: Any, registry: Any, roles: dict[str, dict[str, str]] | None = None) -> Iterator[FastAPI]:
    """The web app on ``registry``'s database, with one account per role."""
    now = datetime.now(timezone.utc)
    with registry.begin() as s:
        for role, scope in (roles or SCOPES).items():
            create_account(session=s, username=role, display_name=role, role=role, password=PASSWORD, now=now, **scope)
    app = create_app(settings)
    with TestClient(app):
        app.state.sessions = registry
        yield app


def login(app: FastAPI, username: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    """Log in through the form; the client and its session's CSRF token."""
    client = TestClient(app)
    token = re.search(r'name="login_token" value="([^"]+)"', client.get("/console/login").text)
    assert token is not None
    client.post("/console/login", data={"username": username, "password": password, "login_token": token.group(1)})
    with app.state.sessions() as s:
        latest = s.query(ConsoleSession).order_by(ConsoleSession.id.desc()).first()
    return client, str(latest.csrf_token) if latest is not None else ""
