"""The chat page at a phone size and a desktop size, in the system Chromium, against the real stack.

After every answer the newest message must be on screen (inside the log's
visible part and the window), so the ticket number after 确认 is seen
without scrolling. After a reload the buttons the resident pressed read as
their titles (never a payload such as ``/affirm``), and only the latest
answer's buttons can still be pressed, as before the reload.

The page's CSP forbids eval, so every predicate given to the browser is an
arrow function.
"""

from __future__ import annotations

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_chat_page import SCREENSHOTS, browser  # noqa: F401 - the module's Chromium fixture

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}

# Where the newest message is: its box, the log's box and the window's height (the log must be the scroller).
NEWEST = """() => {
  const log = document.getElementById('log');
  const last = log.lastElementChild;
  const r = last.getBoundingClientRect(), l = log.getBoundingClientRect();
  return {bottom: r.bottom, top: r.top, logTop: l.top, logBottom: l.bottom, window: window.innerHeight,
          scrolls: log.scrollHeight > log.clientHeight, text: last.innerText.slice(0, 80)};
}"""
# Per button on the page: its title, whether it can be pressed, and whether a resident message comes after it.
BUTTONS = """() => {
  const items = Array.from(document.querySelectorAll('#log > li'));
  const lastUser = items.map(i => i.classList.contains('user')).lastIndexOf(true);
  return items.flatMap((item, index) => Array.from(item.querySelectorAll('.buttons button')).map(b => (
    {title: b.textContent, disabled: b.disabled, old: index < lastUser})));
}"""


@pytest.fixture(params=list(SIZES))
def page(request, browser, running: Stack):  # noqa: F811 - the imported fixture, requested by name
    context = browser.new_context(locale="zh-CN", viewport=SIZES[request.param])
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(running.web_url + "/")
    page.wait_for_selector(".msg.bot .bubble")
    page.size_name = request.param  # type: ignore[attr-defined]
    yield page
    context.close()


def assert_newest_on_screen(page, after: str) -> None:
    box = page.evaluate(NEWEST)
    shown = f"{page.size_name}, after {after}: {box}"
    assert box["bottom"] <= min(box["window"], box["logBottom"]) + 1, (
        f"the newest message is below the screen ({shown})"
    )
    assert box["bottom"] > box["logTop"], f"the newest message is above the log's visible part ({shown})"


def answer(page, act, what: str, expect: str) -> None:
    """Do ``act``, wait for the answer holding ``expect``, and check the newest message is on screen."""
    before = page.locator(".msg.bot").count()
    act()
    page.wait_for_function("([n]) => document.querySelectorAll('.msg.bot').length > n", arg=[before])
    page.wait_for_function("([t]) => document.getElementById('log').innerText.includes(t)", arg=[expect])
    assert_newest_on_screen(page, what)


def type_and_send(page, text: str):
    def act() -> None:
        page.fill("#input", text)
        page.click("#send")

    return act


def press(page, title: str):
    return lambda: page.locator(".msg.bot .buttons button:enabled", has_text=title).last.click()


def test_the_newest_message_stays_on_screen_and_a_reload_shows_what_was_pressed(page):
    answer(page, type_and_send(page, "你好"), "你好", "三事通")
    # Roads where no later test on the shared stack reports a manhole (test_report and
    # test_satisfaction expect theirs at 望江路 and 建设路 to be the first).
    road = {"phone": "枫林路", "desktop": "和园路"}[page.size_name]
    answer(page, type_and_send(page, f"{road}上有个井盖没了，晚上很危险，小孩子放学都从这走"), "the report", "登记工单")
    answer(page, press(page, "登记工单"), "登记工单", "登记")  # the phone question, or the same problem to follow
    if page.locator(".msg.bot .buttons button:enabled", has_text="单独登记").count():
        # another test on the shared stack filed this problem at this road first
        answer(page, press(page, "情况不一样，单独登记"), "单独登记", "手机号")
    answer(page, press(page, "不留电话"), "不留电话", "确认")
    answer(page, press(page, "确认"), "确认", "GZ")
    newest = page.evaluate(NEWEST)
    assert newest["scrolls"], "the conversation is long enough that the log must scroll"
    assert "GZ" in page.locator("#log > li").last.inner_text(), "the ticket number is in the newest message"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"chat-{page.size_name}-filed.png"))

    page.reload()
    page.wait_for_function("() => document.getElementById('log').innerText.includes('GZ')")
    mine = page.locator(".msg.user .bubble").all_inner_texts()
    assert [t for t in mine if t.startswith("/")] == [], f"a pressed button reads as its payload: {mine}"
    for title in ("登记工单", "不留电话", "确认"):
        assert title in mine, f"the pressed button {title} is not shown by its title: {mine}"
    buttons = page.evaluate(BUTTONS)
    still_live = [b["title"] for b in buttons if b["old"] and not b["disabled"]]
    assert still_live == [], f"buttons of earlier answers can be pressed again after the reload: {still_live}"
    assert_newest_on_screen(page, "the reload")
    page.screenshot(path=str(SCREENSHOTS / f"chat-{page.size_name}-reloaded.png"))


def test_a_typed_answer_retires_the_buttons_before_it(page):
    answer(page, type_and_send(page, "你好"), "你好", "三事通")
    assert any(not b["disabled"] for b in page.evaluate(BUTTONS)), "the greeting's buttons can be pressed"
    answer(page, type_and_send(page, "积分怎么用"), "a typed question", "积分")
    old = [b["title"] for b in page.evaluate(BUTTONS) if b["old"] and not b["disabled"]]
    assert old == [], f"buttons of an answer already replied to can still be pressed: {old}"
