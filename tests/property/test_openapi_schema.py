"""schemathesis against the backend's own OpenAPI schema, in process.

Every public operation the schema lists (the resident's chat, photos and
tickets, triage, the statistics, the health check) gets requests generated
from it, valid ones and ones that break it, and every answer goes through
schemathesis' default checks: no 5xx, a status code, content type and
headers the schema declares, a body that matches the declared response
schema, valid data accepted and invalid data refused.

Left out: the console (``/console/…`` HTML forms and the staff JSON API
``/api/console/…``), which answer a login page or 401 to anyone without a
staff session and CSRF token; their routes are covered by the
authorisation matrix (``tests/backend/test_console_routes.py``) and the
hostile-text test of the ticket page (``test_http_fuzz.py``).

Rasa is faked at the transport (every parse is "not understood", every
chat message gets one text), so what is tested is the backend itself.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from backend.rasa_client import RasaClient
from backend.web.app import create_app
from tests.rasa_stub import RasaStub


def _rasa(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/model/parse":
        return httpx.Response(200, json={"intent": {"name": "nlu_fallback", "confidence": 0.1}, "entities": []})
    return httpx.Response(200, json=[{"recipient_id": "x", "text": "收到"}])


@asynccontextmanager
async def _already_started(app):
    yield


@pytest.fixture()
def api_schema(settings, registry):
    app = create_app(settings)
    with RasaStub(_rasa) as stub, TestClient(app):
        app.state.sessions = registry
        app.state.rasa = RasaClient(stub.url, token="tok")
        # schemathesis' ASGI client runs the lifespan on every call, which
        # would replace the fake Rasa with a client of a server not running.
        app.router.lifespan_context = _already_started
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


PUBLIC = r"^/(api/|healthz)"
STAFF = r"^/api/console/"
schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=PUBLIC).exclude(path_regex=STAFF)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_public_operation_answers_as_its_schema_says(case):
    if case.path == "/healthz":  # no action server or worker here: its 503 is the documented, right answer
        case.call_and_validate(excluded_checks=[not_a_server_error])
    else:
        case.call_and_validate()


def test_the_public_operations_are_all_tested(api_schema):
    """The filter keeps every resident-facing operation, and no staff one."""
    public = {
        (op.method.upper(), op.path)
        for result in api_schema.include(path_regex=PUBLIC).exclude(path_regex=STAFF).get_all_operations()
        for op in [result.ok()]
    }
    assert {
        ("POST", "/api/triage"),
        ("POST", "/api/chat/messages"),
        ("POST", "/api/chat/photos"),
        ("GET", "/api/chat/history"),
        ("GET", "/api/chat/updates"),
        ("GET", "/api/photos/{token}"),
        ("GET", "/api/tickets"),
        ("GET", "/api/tickets/{number}"),
        ("GET", "/healthz"),
    } <= public
    assert not any(path.startswith(("/console", "/api/console/")) for _, path in public)
