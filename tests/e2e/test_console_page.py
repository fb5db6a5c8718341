"""The console in the system Chromium, against the real stack: every role logs in, a ticket is worked to the end.

A resident files a ticket through the conversation; the community staff
dispatch it, the grid member writes progress and resolves it, and the
resident is told; a department reports in on a ticket whistled up to it;
an operator is kept out of tickets. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_chat_page import SCREENSHOTS, browser  # noqa: F401 - the shared Chromium fixture
from tests.e2e.test_report import NUMBER, Resident
from tests.e2e.test_satisfaction import news

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "console-e2e-password"
ACCOUNTS = [
    ("e2e-admin", "admin", []),
    ("e2e-operator", "operator", []),
    ("e2e-staff", "community_staff", ["--community", "fl"]),
    ("e2e-member", "grid_member", ["--member", "gm-fl-03"]),
    ("e2e-dept", "department", ["--department", "city-mgmt"]),
]


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> None:
    for username, role, scope in ACCOUNTS:
        stack.command("accounts", "add", username, "--role", role, *scope, "--password-stdin", stdin=PASSWORD + "\n")


@pytest.fixture()
def console(browser, running: Stack, accounts):  # noqa: F811 - the fixture imported above
    contexts = []

    def open_as(username: str):
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(running.web_url + "/console")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    yield open_as
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)


def step(page, title: str, text: str | None = None, member: str | None = None) -> None:
    form = page.locator("form.step", has=page.get_by_role("button", name=title, exact=True))
    if text is not None:
        form.locator("input[name=note]").fill(text)
    if member is not None:
        form.locator("select[name=member]").select_option(member)
    form.get_by_role("button", name=title, exact=True).click()
    page.wait_for_load_state()


def test_each_role_logs_in_and_a_ticket_goes_from_dispatch_to_resolved(running, console):
    me = Resident(running)
    me.say("和园新村5号楼门口的垃圾桶满了好几天没人清")
    me.say("/report_start")
    me.say("不留")
    number = NUMBER.search("\n".join(a.get("text", "") for a in me.say("/affirm"))).group(0)

    admin = console("e2e-admin")
    assert admin.get_by_text("网格台账").first.is_visible()
    shot(admin, "admin-registry")

    operator = console("e2e-operator")
    operator.goto(running.web_url + "/console/tickets")
    assert "不能访问" in operator.content()
    shot(operator, "operator-refused")

    staff = console("e2e-staff")
    staff.goto(running.web_url + "/console/tickets?grid=fl-03")
    assert number in staff.content()
    shot(staff, "staff-board")
    staff.click(f"text={number}")
    step(staff, "派单", member="gm-fl-03")
    assert "已派单" in staff.content()

    member = console("e2e-member")
    member.goto(running.web_url + f"/console/tickets/{number}")
    step(member, "写进展", "物业保洁下午来清运")
    step(member, "办结", "已清运，和物业约好每天早晚各收一次")
    assert member.get_by_test_id("status").inner_text() == "已办结"
    shot(member, "member-resolved")
    assert "已清运" in news(me, "已清运")[0]["text"]  # the resident was told

    admin.goto(running.web_url + "/console/audit?action=ticket.resolve")
    assert number in admin.content() and "e2e-member" in admin.content()
    shot(admin, "audit")


def test_a_department_reports_in_from_the_console(running, console):
    me = Resident(running)
    me.say("学府街东头的路灯有三盏不亮了，晚上黑乎乎的")
    me.say("/report_start")
    me.say("不留")
    number = NUMBER.search("\n".join(a.get("text", "") for a in me.say("/affirm"))).group(0)
    admin = console("e2e-admin")
    admin.goto(running.web_url + f"/console/tickets/{number}")
    for _ in range(3):
        step(admin, "吹哨（升一级）", "社区和街道协调不了，需要城管")
    assert admin.get_by_test_id("level").inner_text().startswith("职能部门")
    dept = console("e2e-dept")
    dept.goto(running.web_url + f"/console/tickets/{number}")
    step(dept, "报到（本部门接手）")
    assert "区城市管理局已报到" in dept.content()
    assert re.search("处理中", dept.get_by_test_id("status").inner_text())
    shot(dept, "department-reported-in")
