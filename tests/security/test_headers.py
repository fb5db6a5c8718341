"""The chat page and the console carry CSP, X-Frame-Options, nosniff and Referrer-Policy (issue 26, item 10).

They had none: any site could frame the console, and one injected script
would have run. The headers are checked on the app's answers, then the
chat page and the console are used in the system Chromium against the real
stack: they still work, Chromium reports no violation of the policy, and a
script injected into the page is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend.web.app import create_app
from tests.console_client import console_app, login
from tests.e2e.stack import Stack
from tests.e2e.test_chat_page import browser  # noqa: F401 - the shared Chromium

PASSWORD = "headers-e2e-password"
# Recorded before any of the page's own scripts run (Playwright's init scripts are not subject to the CSP).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
CONSOLE_PAGES = [
    "/console",
    "/console/tickets",
    "/console/points",
    "/console/models",
    "/console/stats",
    "/console/conversations",
    "/console/review",
    "/console/audit",
]


def _assert_security_headers(headers) -> None:
    policy = headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other host
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("strict-origin-when-cross-origin", "no-referrer")


def test_the_chat_page_its_api_and_its_files_carry_the_headers(settings, registry):
    app = create_app(settings)
    with TestClient(app) as client:
        app.state.sessions = registry
        for path in ("/", "/api/chat/history", "/static/chat.js", "/static/chat.css", "/healthz", "/no-such-page"):
            _assert_security_headers(client.get(path).headers)


def test_the_console_carries_the_headers_before_and_after_login(settings, registry):
    with console_app(settings, registry) as app:
        anonymous = TestClient(app)
        _assert_security_headers(anonymous.get("/console/login").headers)
        _assert_security_headers(anonymous.get("/console", follow_redirects=False).headers)
        client, _ = login(app, "admin")
        for path in CONSOLE_PAGES:
            response = client.get(path)
            assert response.status_code == 200, path
            _assert_security_headers(response.headers)


# --- in Chromium, against the real stack ---


@pytest.fixture(scope="module")
def admin(stack: Stack) -> str:
    username = f"h-admin-{uuid.uuid4().hex[:6]}"
    stack.command("accounts", "add", username, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    return username


@pytest.fixture()
def watched_page(browser, running: Stack) -> Iterator:  # noqa: F811
    """A page whose CSP violations (the DOM's events and Chromium's console lines) are recorded."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1024, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.console_lines = []
    page.on("console", lambda message: page.console_lines.append(message.text))
    yield page
    context.close()


def _violations(page) -> list[str]:
    reported = page.evaluate("window.__violations")
    lines = [line for line in page.console_lines if "Content Security Policy" in line]
    return reported + lines


@pytest.mark.e2e
@pytest.mark.browser
def test_the_chat_page_works_in_chromium_with_no_csp_violation(watched_page, running: Stack):
    page = watched_page
    response = page.goto(running.web_url + "/")
    _assert_security_headers(response.headers)
    page.wait_for_selector(".msg.bot .bubble")  # chat.js ran: the welcome line
    page.fill("#input", "你好")
    page.click("#send")
    page.wait_for_selector(".msg.bot .buttons button")
    page.locator(".msg.bot .buttons button").first.click()
    page.locator("#log", has_text="诉求分成三类").wait_for()  # not wait_for_function("…"): an eval the CSP refuses
    assert _violations(page) == []


@pytest.mark.e2e
@pytest.mark.browser
def test_the_console_works_in_chromium_with_no_csp_violation(watched_page, running: Stack, admin):
    page = watched_page
    response = page.goto(running.web_url + "/console")
    _assert_security_headers(response.headers)
    page.fill("input[name=username]", admin)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/console/login" not in page.url, page.content()[:500]
    for path in CONSOLE_PAGES:
        response = page.goto(running.web_url + path)
        assert response.status == 200, path
        assert page.locator("header h1").inner_text() == "三事通工作台"
    page.goto(running.web_url + "/console/tickets")
    page.click("form.who button[type=submit]")  # log out: a form post, allowed by form-action 'self'
    page.wait_for_load_state()
    assert "/console/login" in page.url
    assert _violations(page) == []


@pytest.mark.e2e
@pytest.mark.browser
def test_an_injected_script_is_refused_and_the_page_cannot_be_framed(watched_page, running: Stack):
    page = watched_page
    page.goto(running.web_url + "/")
    page.wait_for_selector(".msg.bot .bubble")
    ran = page.evaluate(
        """() => {
        const s = document.createElement("script");
        s.textContent = "window.__injected = true";
        document.body.appendChild(s);
        return window.__injected === true;
    }"""
    )
    assert ran is False
    assert any("script-src" in v for v in _violations(page))
    # Another site framing the console gets nothing: Chromium refuses to show it in a frame.
    page.set_content(f'<iframe id="f" src="{running.web_url}/console/login"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame_locator("#f")
    assert frame.locator("input[name=username]").count() == 0
