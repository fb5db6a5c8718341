"""The console's points pages in the system Chromium, against the real stack.

An admin finds a demo resident of 望江 (R0004) by phone, adjusts their
points with a reason and sees the new entry and balance; then counts the
eggs on 望江's 爱心超市 shelf anew. Resident and item are used by no other
end-to-end test (the stack's database is shared). Screenshots go to
var/screenshots/.
"""

from __future__ import annotations

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_chat_page import browser  # noqa: F401 - the shared Chromium fixture
from tests.e2e.test_console_page import PASSWORD, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADMIN = "e2e-points-admin"


def test_an_admin_adjusts_a_residents_points_and_sets_stock(browser, running: Stack):  # noqa: F811
    running.command("accounts", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(running.web_url + "/console/points")
        page.fill("input[name=username]", ADMIN)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()

        page.fill("input[name=q]", "13900000004")
        page.get_by_role("button", name="查询").click()
        page.wait_for_load_state()
        assert page.url.endswith("/console/points/residents/R0004")
        assert "139****0004" in page.content() and "13900000004" not in page.content()
        before = int(page.get_by_test_id("balance").inner_text().split()[0])

        page.fill("input[name=amount]", "25")
        page.fill("input[name=reason]", "社区运动会志愿者补记")
        page.get_by_role("button", name="调整").click()
        page.wait_for_load_state()
        assert "已调整 +25 分" in page.content()
        assert int(page.get_by_test_id("balance").inner_text().split()[0]) == before + 25
        row = page.locator("table.ledger tbody tr").first
        assert "+25" in row.inner_text() and "人工调整：社区运动会志愿者补记" in row.inner_text()
        assert f"console:{ADMIN}" in row.inner_text()
        shot(page, "points-adjusted")

        page.goto(running.web_url + "/console/points/catalogue?community=wj")
        eggs = page.locator("tr[data-item=eggs]")
        eggs.locator("input[name=stock]").fill("12")
        eggs.get_by_role("button", name="改库存").click()
        page.wait_for_load_state()
        assert "库存已改为 12" in page.content()
        assert page.locator("tr[data-item=eggs] input[name=stock]").input_value() == "12"
        shot(page, "points-stock")
        assert "R0004" in running.command("points", "balance", "R0004")  # the command line sees the same ledger
        assert f"{before + 25}" in running.command("points", "balance", "R0004").splitlines()[0]
    finally:
        context.close()
