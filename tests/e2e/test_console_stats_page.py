"""The statistics page in the system Chromium, on a phone-sized screen, against the real stack.

Its tickets are filed in March 2024, a month no other end-to-end test
touches, so the figures for that month are exactly these. An admin picks
the month in the form, reads the charts, and downloads one CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from backend.categories import DISTRICT_TZ
from backend.db import make_engine, make_session_factory
from tests.e2e.stack import Stack
from tests.e2e.test_chat_page import SCREENSHOTS, browser  # noqa: F401 - the shared Chromium fixture
from tests.factories import file_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

USERNAME = "e2e-stats-admin"
PASSWORD = "stats-e2e-password"


@pytest.fixture(scope="module")
def march(stack: Stack) -> None:
    """An admin account, and three tickets in the weeks of 4 and 11 March 2024 (district time)."""
    stack.command("accounts", "add", USERNAME, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    engine = make_engine(stack.env["DATABASE_URL"])
    try:
        with make_session_factory(engine).begin() as s:
            for sender, day, category in (("a", 4, "elevator"), ("b", 6, "streetlight"), ("c", 12, "elevator")):
                file_ticket(s, now=datetime(2024, 3, day, 10, tzinfo=DISTRICT_TZ), sender=f"e2e-stats-{sender}",
                            category=category, description="统计页测试")  # fmt: skip
    finally:
        engine.dispose()


def test_an_admin_reads_the_charts_and_downloads_a_csv(browser, running: Stack, march):  # noqa: F811
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(running.web_url + "/console/stats")
        page.fill("input[name=username]", USERNAME)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.url.endswith("/console/stats")
        page.fill("input[name=start]", "2024-03-04")
        page.fill("input[name=end]", "2024-03-17")
        page.get_by_role("button", name="查看").click()
        page.wait_for_load_state()

        weekly = page.locator("#weekly-matter")
        chart = weekly.get_by_role("img", name="每周工单数（按事项）")
        assert chart.is_visible()
        assert weekly.locator("svg text", has_text="3月4日起").first.is_visible()
        assert chart.bounding_box()["width"] <= 390  # scaled to the phone's width
        weekly.get_by_text("查看数据表").click()
        rows = weekly.locator("tbody tr")
        assert rows.nth(0).inner_text().split() == ["3月4日起", "2024-03-04", "1", "1", "0", "2"]
        assert rows.nth(1).inner_text().split() == ["3月11日起", "2024-03-11", "0", "1", "0", "1"]
        assert page.locator("svg").count() >= 8 - page.locator("p.empty").count()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console-stats.png"), full_page=True)

        with page.expect_download() as info:
            weekly.get_by_role("link", name="下载 CSV").click()
        download = info.value
        assert download.suggested_filename == "stats-weekly-matter-2024-03-04_2024-03-17.csv"
        with open(download.path(), "rb") as f:
            content = f.read()
        assert content.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        assert table[0][:3] == ["周（week）", "周一日期（week_start）", "公家事（public）"]
        assert table[1:] == [
            ["3月4日起", "2024-03-04", "1", "1", "0", "2"],
            ["3月11日起", "2024-03-11", "0", "1", "0", "1"],
        ]
    finally:
        context.close()
