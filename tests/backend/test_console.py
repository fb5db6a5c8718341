"""The console over HTTP against a real database: login, sessions, CSRF, roles and scopes, and ticket work.

Every console route is tried with every role (the authorisation matrix);
a refusal is a 403 and lands in the audit trail, a ticket outside the
account's scope is a 404 like a missing one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from backend.console.accounts import create_account
from backend.console.login_lockout import MAX_FAILURES
from backend.models import AuditEntry, ConsoleSession, Ticket
from backend.tickets.escalation import escalate
from backend.web.app import create_app
from tests.factories import file_ticket
from tests.news import news

PASSWORD = "correct-horse-battery"
NOW = datetime.now(timezone.utc)
ACCOUNTS = {
    "admin": {},
    "operator": {},
    "community_staff": {"community": "fl"},
    "grid_member": {"member": "gm-fl-01"},
    "department": {"department": "city-mgmt"},
}


@pytest.fixture()
def app(settings, registry):
    with registry.begin() as s:
        for role, scope in ACCOUNTS.items():
            create_account(session=s, username=role, display_name=role, role=role, password=PASSWORD, now=NOW, **scope)
        create_account(
            session=s, username="staff-other", display_name="别的社区", role="community_staff", password=PASSWORD,
            now=NOW, community="wj",
        )  # fmt: skip
    app = create_app(settings)
    with TestClient(app):
        app.state.sessions = registry
        yield app


def login(app, username, password=PASSWORD):
    client = TestClient(app)
    form = client.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "login_token": token, "next": "/console/tickets"},
        follow_redirects=False,
    )
    return client, response


def csrf_of(client, path="/console/tickets"):
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def ticket(registry, **kw):
    with registry.begin() as s:
        return file_ticket(s, now=NOW, **kw).number


# --- login and sessions ------------------------------------------------------------------------


def test_login_opens_a_session_and_logout_ends_it(app, registry):
    client, response = login(app, "admin")
    assert response.status_code == 303 and response.headers["location"] == "/console/tickets"
    cookie = response.headers["set-cookie"]
    assert "sst_console=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/console/tickets").status_code == 200
    client.post("/console/logout", data={"csrf": csrf_of(client)})
    assert client.get("/console/tickets", follow_redirects=False).status_code == 303
    with registry() as s:
        assert [e.action for e in s.query(AuditEntry).order_by(AuditEntry.id)] == ["login", "logout"]
        assert s.query(ConsoleSession).one().ended_at is not None


def test_wrong_passwords_are_refused_audited_and_lock_the_username(app, registry):
    for _ in range(MAX_FAILURES):
        _, response = login(app, "admin", "wrong-password-123")
        assert response.status_code == 401 and "用户名或密码不对" in response.text
    _, response = login(app, "admin")  # even the right password, for a while
    assert response.status_code == 401 and "失败次数太多" in response.text
    _, unknown = login(app, "nobody", "whatever-password")
    assert unknown.status_code == 401 and "用户名或密码不对" in unknown.text  # the same answer
    with registry() as s:
        assert s.query(AuditEntry).filter_by(action="login", outcome="refused").count() == MAX_FAILURES + 2


def test_the_login_form_needs_its_own_token_and_next_stays_inside_the_console(app):
    client = TestClient(app)
    forged = client.post("/console/login", data={"username": "admin", "password": PASSWORD, "login_token": "x"})
    assert forged.status_code == 400
    form = client.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    away = client.post(
        "/console/login",
        data={"username": "admin", "password": PASSWORD, "login_token": token, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/console"


def test_a_session_ends_after_two_idle_hours(app, registry):
    client, _ = login(app, "admin")
    with registry.begin() as s:
        s.query(ConsoleSession).update({ConsoleSession.last_seen_at: NOW - timedelta(hours=3)})
    page = client.get("/console/tickets", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/console/login")


def test_a_form_without_the_sessions_csrf_token_is_refused_and_audited(app, registry):
    number = ticket(registry)
    client, _ = login(app, "admin")
    refused = client.post(f"/console/tickets/{number}/progress", data={"note": "x", "csrf": "forged"})
    assert refused.status_code == 403
    with registry() as s:
        assert s.query(AuditEntry).filter_by(action="csrf", outcome="refused").count() == 1
        assert len(s.query(Ticket).filter_by(number=number).one().events) == 2  # nothing added


# --- the authorisation matrix ------------------------------------------------------------------

PAGES = {
    "/console": {"admin": 200, "operator": 200, "community_staff": 200, "grid_member": 303, "department": 303},
    "/console/tickets": {"admin": 200, "operator": 403, "community_staff": 200, "grid_member": 200, "department": 200},
    "/console/audit": {"admin": 200, "operator": 403, "community_staff": 403, "grid_member": 403, "department": 403},
}


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_every_page_admits_only_the_roles_that_may_use_it(app, role):
    client, _ = login(app, role)
    for path, expected in PAGES.items():
        assert client.get(path, follow_redirects=False).status_code == expected[role], (path, role)


STEP_ROLES = {
    "dispatch": {"admin", "community_staff"},
    "progress": {"admin", "community_staff", "grid_member"},
    "escalate": {"admin", "community_staff", "grid_member"},
    "report-in": {"admin", "department"},
    "reopen": {"admin", "community_staff"},
}


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_every_step_is_refused_to_the_roles_without_it(app, registry, role):
    number = ticket(registry)
    client, _ = login(app, role)
    csrf = csrf_of(client, "/console/tickets" if role != "operator" else "/console")
    for step, roles in STEP_ROLES.items():
        response = client.post(
            f"/console/tickets/{number}/{step}", data={"csrf": csrf, "note": "试一下", "member": "gm-fl-01"}
        )
        if role in roles:
            assert response.status_code != 403, (step, role)
        else:
            assert response.status_code == 403, (step, role)


def test_each_account_sees_only_its_part_of_the_district(app, registry):
    mine = ticket(registry, sender="a")  # 枫林苑3号楼: community fl, grid of gm-fl-01
    other = ticket(registry, sender="b", category="streetlight", description="望江路路灯不亮", place_text="望江路",
                   entities={})  # fmt: skip
    for role, sees_mine, sees_other in [
        ("admin", True, True),
        ("community_staff", True, False),
        ("grid_member", True, False),
        ("staff-other", False, True),
    ]:
        client, _ = login(app, role)
        board = client.get("/console/tickets?status=all").text
        assert (mine in board, other in board) == (sees_mine, sees_other), role
        assert client.get(f"/console/tickets/{mine}").status_code == (200 if sees_mine else 404), role
        assert client.get(f"/console/tickets/{other}").status_code == (200 if sees_other else 404), role


# --- working a ticket --------------------------------------------------------------------------


def test_dispatch_progress_resolve_then_reopen_through_the_ticket_services(app, registry):
    number = ticket(registry, sender="c", place_text="枫林苑", entities={})
    staff, _ = login(app, "community_staff")
    csrf = csrf_of(staff)
    page = staff.get(f"/console/tickets/{number}").text
    assert "派单" in page and "gm-fl-02" in page and "gm-wj" not in page  # only the community's members
    done = staff.post(f"/console/tickets/{number}/dispatch", data={"csrf": csrf, "member": "gm-fl-02"})
    assert done.status_code == 200 and "已派单" in done.text
    empty = staff.post(f"/console/tickets/{number}/resolve", data={"csrf": csrf, "note": "  "})
    assert empty.status_code == 400 and "请写上办理结果" in empty.text
    staff.post(f"/console/tickets/{number}/progress", data={"csrf": csrf, "note": "物业下午来修"})
    resolved = staff.post(f"/console/tickets/{number}/resolve", data={"csrf": csrf, "note": "已修好"})
    assert "已办结" in resolved.text
    reopened = staff.post(f"/console/tickets/{number}/reopen", data={"csrf": csrf, "note": "居民说还是坏的"})
    assert "重新办理" in reopened.text
    with registry() as s:
        t = s.query(Ticket).filter_by(number=number).one()
        assert t.status == "reopened" and t.needs_dispatch == 0
        assert [e.actor for e in t.events][-4:] == ["console:community_staff"] * 4
        assert len(news(s, sender="web:c", number=number)) >= 4  # the resident heard each step
        actions = [e.action for e in s.query(AuditEntry).filter(AuditEntry.action.like("ticket.%"))]
        assert actions == [
            "ticket.dispatch", "ticket.resolve", "ticket.progress", "ticket.resolve", "ticket.reopen",
        ]  # fmt: skip


def test_a_department_reports_in_when_the_whistle_reaches_it_and_resolves(app, registry):
    number = ticket(registry, sender="d", category="streetlight", description="学府街路灯坏了", place_text="学府街",
                    entities={})  # fmt: skip
    dept, _ = login(app, "department")
    early = dept.get(f"/console/tickets/{number}")  # a public matter of theirs: visible, nothing to do yet
    assert early.status_code == 200 and "报到（本部门接手）" not in early.text
    other, _ = login(app, "staff-other")
    assert other.get(f"/console/tickets/{number}").status_code == 404
    with registry.begin() as s:
        t = s.query(Ticket).filter_by(number=number).one()
        for _ in range(3):
            escalate(session=s, ticket=t, actor="system", why="超时", now=NOW)
    page = dept.get(f"/console/tickets/{number}").text
    assert "报到" in page and "吹哨" not in page
    csrf = csrf_of(dept)
    assert "区城市管理局已报到" in dept.post(f"/console/tickets/{number}/report-in", data={"csrf": csrf}).text
    assert (
        "已办结"
        in dept.post(f"/console/tickets/{number}/department-resolve", data={"csrf": csrf, "note": "换了灯"}).text
    )
    with registry() as s:
        t = s.query(Ticket).filter_by(number=number).one()
        assert (t.status, t.department_code) == ("resolved", "city-mgmt")


def test_stored_text_is_escaped_on_the_console(app, registry):
    number = ticket(registry, sender="x", description="<script>alert(1)</script>电梯坏了")
    client, _ = login(app, "admin")
    page = client.get(f"/console/tickets/{number}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
