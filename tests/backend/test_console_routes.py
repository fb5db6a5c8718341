"""The authorisation matrix over every console route the app has.

The routes are read from the application itself, so a new console or
staff-API route without an entry in :data:`EXPECTED` fails this test: each
route must say which roles may use it. Every route is then called as
nobody (sent to the login page, or 401 for the JSON API), and as every
role with a valid CSRF token: the roles not listed get 403, the listed
ones never do.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from backend.models.accounts import ROLES
from tests.console_client import SCOPES, console_app, login

ALL = frozenset(ROLES)
REGISTRY_READERS = frozenset({"admin", "operator", "community_staff"})
TICKET_READERS = frozenset({"admin", "community_staff", "grid_member", "department"})
ADMIN = frozenset({"admin"})
CONVERSATION_READERS = frozenset({"admin", "operator"})  # a grid member reads no conversation log
POINTS_READERS = frozenset({"admin", "community_staff"})  # points.view / points.catalogue
VOLUNTEER_LOGGERS = frozenset({"admin", "community_staff", "grid_member"})

# (method, path) → the roles that may use it. Paths use FastAPI's templates.
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/console"): ALL,  # registry readers see it, the others are sent on to their tickets
    ("GET", "/console/accounts/locked"): ADMIN,
    ("POST", "/console/accounts/unlock"): ADMIN,
    ("GET", "/console/audit"): ADMIN,
    ("GET", "/console/tickets"): TICKET_READERS,
    ("GET", "/console/tickets/{number}"): TICKET_READERS,
    # with the sample step "progress"; every step's roles: test_console.py
    ("POST", "/console/tickets/{number}/{step}"): frozenset({"admin", "community_staff", "grid_member"}),
    ("GET", "/console/models"): ADMIN,
    ("POST", "/console/models/train"): ADMIN,
    ("POST", "/console/models/{name}/rollback"): ADMIN,
    ("POST", "/console/registry/{edit}"): ADMIN,
    ("GET", "/console/stats"): REGISTRY_READERS,  # stats.view: admin, operator, community staff
    ("GET", "/console/stats/{name}.csv"): REGISTRY_READERS,
    ("GET", "/console/conversations"): CONVERSATION_READERS,
    ("GET", "/console/conversations/export.jsonl"): CONVERSATION_READERS,
    ("GET", "/console/conversations/export.csv"): CONVERSATION_READERS,
    ("GET", "/console/conversations/{sender}"): CONVERSATION_READERS,
    ("POST", "/console/conversations/{sender}/flag"): CONVERSATION_READERS,
    ("GET", "/console/review"): CONVERSATION_READERS,
    ("POST", "/console/review/{item_id}/label"): ADMIN,
    ("GET", "/console/points"): VOLUNTEER_LOGGERS,
    ("POST", "/console/points/lookup"): POINTS_READERS,
    ("GET", "/console/points/residents/{code}"): POINTS_READERS,
    ("POST", "/console/points/residents/{code}/adjust"): ADMIN,
    ("POST", "/console/points/volunteer"): VOLUNTEER_LOGGERS,
    ("GET", "/console/points/catalogue"): POINTS_READERS,
    ("POST", "/console/points/catalogue"): POINTS_READERS,
    ("POST", "/console/points/catalogue/{item}/stock"): POINTS_READERS,
    ("POST", "/console/points/catalogue/{item}/retire"): POINTS_READERS,
    ("POST", "/console/points/catalogue/{item}/restore"): POINTS_READERS,
    ("GET", "/console/points/ranking"): POINTS_READERS,
    ("GET", "/console/points/ranking.csv"): POINTS_READERS,
    ("GET", "/api/console/points/csrf"): ALL,
    ("GET", "/api/console/points/residents/{reference}"): POINTS_READERS,
    ("POST", "/api/console/points/residents/{reference}/adjustments"): ADMIN,
    ("POST", "/api/console/points/volunteer"): VOLUNTEER_LOGGERS,
    ("GET", "/api/console/points/catalogue"): POINTS_READERS,
    ("POST", "/api/console/points/catalogue"): POINTS_READERS,
    ("PUT", "/api/console/points/catalogue/{item}/stock"): POINTS_READERS,
    ("POST", "/api/console/points/catalogue/{item}/retire"): POINTS_READERS,
    ("POST", "/api/console/points/catalogue/{item}/restore"): POINTS_READERS,
    ("GET", "/api/console/points/ranking"): POINTS_READERS,
}
# Valid bodies for the JSON writes, so a refusal is the role's and not the body's.
BODIES = {
    "/api/console/points/residents/{reference}/adjustments": {"amount": 1, "reason": "核对"},
    "/api/console/points/volunteer": {"resident": "R0001", "hours": 1, "member": "gm-fl-01"},
    "/api/console/points/catalogue": {"code": "soap-x", "name": "肥皂", "cost": 5, "stock": 1},
    "/api/console/points/catalogue/{item}/stock": {"stock": 3},
}
PUBLIC = {("GET", "/console/login"), ("POST", "/console/login"), ("POST", "/console/logout")}
SAMPLES = {
    "number": "GZ20261122-0001",
    "step": "progress",
    "name": "sst-none",
    "edit": "building",
    "code": "R0001",
    "reference": "R0001",
    "item": "towel",
    "sender": "web:nobody",
    "item_id": "1",
}


def console_routes(app):
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith(("/console", "/api/console")):
            for method in sorted(getattr(route, "methods", None) or ()):
                if method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    yield method, path


def concrete(path):
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLES.get(m.group(1), "x"), path)


@pytest.fixture()
def app(settings, registry):
    with console_app(settings, registry) as app:
        yield app


def test_every_console_route_says_who_may_use_it(app):
    missing = sorted(set(console_routes(app)) - set(EXPECTED) - PUBLIC)
    assert not missing, f"console routes without an authorisation entry: {missing}"


def test_the_staff_member_a_route_depends_on_is_closed_before_the_response(app):
    """Its transaction commits before the response is sent, as DbTransaction's does: a failed commit is never a 200."""
    from backend.web.console.staff_dependency import StaffPosting, StaffWith

    found = [
        (route.path, dependency.scope)
        for route in app.routes
        for dependency in getattr(getattr(route, "dependant", None), "dependencies", [])
        if isinstance(dependency.call, (StaffWith, StaffPosting))
    ]
    assert len(found) >= 30
    assert all(scope == "function" for _, scope in found), [f for f in found if f[1] != "function"]


def test_every_console_form_post_declares_the_staff_member_who_posted_it(app):
    """A form post checks the permission and the CSRF token in its dependency, before the route's own code runs."""
    from backend.web.console.staff_dependency import StaffPosting

    posting = {
        route.path
        for route in app.routes
        for dependency in getattr(getattr(route, "dependant", None), "dependencies", [])
        if isinstance(dependency.call, StaffPosting)
    }
    forms = {path for method, path in console_routes(app) if method == "POST" and path.startswith("/console")}
    assert forms - posting == {"/console/login", "/console/logout"}


def test_nobody_logged_in_gets_nothing(app):
    client = TestClient(app)
    for method, path in EXPECTED:
        body = {"json": BODIES.get(path, {})} if path.startswith("/api/") else {"data": {"csrf": "x"}}
        response = client.request(method, concrete(path), follow_redirects=False, **body)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code == 303 and "/console/login" in response.headers["location"], (method, path)


@pytest.mark.parametrize("role", list(SCOPES))
def test_each_role_is_refused_every_route_it_may_not_use(app, role):
    client, csrf = login(app, role)
    for (method, path), roles in EXPECTED.items():
        if method == "GET":
            kwargs = {}
        elif path.startswith("/api/"):
            kwargs = {"headers": {"X-CSRF-Token": csrf}, "json": BODIES.get(path, {})}
        else:
            kwargs = {"data": {"csrf": csrf}}
        response = client.request(method, concrete(path), follow_redirects=False, **kwargs)
        if role in roles:
            assert response.status_code != 403, (method, path, role, response.text[:300])
        else:
            assert response.status_code == 403, (method, path, role, response.status_code)
