"""The web chat page in the system Chromium, against the real stack."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.settings import PROJECT_ROOT
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
# Chromium in a closed network: no background connections, no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, running: Stack):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(running.web_url + "/")
    yield page
    context.close()


def send(page, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")


def test_greeting_with_a_button_then_help_in_chromium(page):
    page.wait_for_selector(".msg.bot .bubble")  # the welcome line
    send(page, "你好")
    page.wait_for_selector(".msg.bot .buttons button")
    assert page.locator(".msg.user .bubble").last.inner_text() == "你好"
    greeting = page.locator(".msg.bot .bubble").nth(1).inner_text()
    assert "三事通" in greeting and "好！" in greeting
    page.locator(".msg.bot .buttons button").first.click()
    page.wait_for_function("() => document.querySelector('#log').innerText.includes('诉求分成三类')")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path: Path = SCREENSHOTS / "chat.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000


def test_empty_message_gets_a_polite_notice(page):
    page.click("#send")  # the textarea is `required`: the browser refuses
    page.fill("#input", "   ")
    page.dispatch_event("#composer", "submit")
    page.wait_for_selector("#notice:not([hidden])")
    assert "还没有输入" in page.inner_text("#notice")


def test_markup_is_shown_as_text_not_run(page):
    send(page, "<img src=x onerror=alert(1)>")
    page.wait_for_function("() => document.querySelectorAll('.msg.bot').length >= 2")
    assert page.locator(".msg.user .bubble").last.inner_text() == "<img src=x onerror=alert(1)>"
    assert page.locator(".msg.user img").count() == 0


def test_action_server_down_shows_busy_then_the_answer_arrives(page, running: Stack):
    page.wait_for_selector(".msg.bot .bubble")
    running.stop("actions")
    try:
        send(page, "你好")
        page.wait_for_selector("#notice:not([hidden])")
        assert "系统繁忙" in page.inner_text("#notice")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "chat-busy.png"))
    finally:
        running.start("actions")
        running.wait_ready("actions")
    # the worker retries the kept message; the page polls and shows the answer
    page.wait_for_selector(".msg.bot .buttons button", timeout=60_000)
    page.wait_for_selector("#notice[hidden]", state="attached", timeout=30_000)
    assert "三事通" in page.locator(".msg.bot .bubble").last.inner_text()


# The smallest valid PNG (1×1, transparent).
ONE_PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_report_in_the_browser_with_a_photo_then_confirm(page):
    send(page, "滨湖路上有个井盖没了，晚上很危险")
    page.get_by_role("button", name="登记工单").click()
    page.wait_for_function("() => document.querySelector('#log').innerText.includes('手机号')")
    page.set_input_files("#photo", files=[{"name": "manhole.png", "mimeType": "image/png", "buffer": ONE_PIXEL_PNG}])
    page.wait_for_function("() => document.querySelector('#log').innerText.includes('收到照片')")
    assert page.locator(".msg.user .bubble").last.inner_text() == "[照片]"
    page.locator(".msg.bot .buttons button", has_text="不留电话").last.click()
    page.wait_for_function("() => document.querySelector('#log').innerText.includes('照片：1 张')")
    page.locator(".msg.bot .buttons button", has_text="确认").last.click()
    page.wait_for_function("() => document.querySelector('#log').innerText.includes('已附照片 1 张')")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-with-photo.png"), full_page=True)
    assert "GZ" in page.inner_text("#log")


def test_a_file_that_is_not_an_image_gets_a_chinese_notice(page):
    page.wait_for_selector(".msg.bot .bubble")
    page.set_input_files(
        "#photo", files=[{"name": "x.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00 not a png"}]
    )
    page.wait_for_selector("#notice:not([hidden])")
    assert "图片" in page.inner_text("#notice")
