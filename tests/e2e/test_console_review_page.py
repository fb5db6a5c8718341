"""Conversation review in the system Chromium, against the real stack.

A resident talks to the real Rasa (one message is gibberish it cannot
understand), an operator reads the transcript and flags a message, and an
admin labels it from the review queue; the example lands in the review
file. The web app here is a second one on the stack's databases, started
with ``REVIEW_NLU_FILE`` pointing at a temporary file, so the repository's
data/nlu is never written. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from backend.console.senders import sender_label
from backend.settings import PROJECT_ROOT
from tests.e2e.stack import Stack, free_port, say
from tests.e2e.test_chat_page import SCREENSHOTS, browser  # noqa: F401 - the shared Chromium fixture

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "review-e2e-password"
WORDS = "我家那栋楼的电梯今天早上又停了，一按就咔咔响"  # understood well enough to need a person's flag
GIBBERISH = "qxzv 嘞嘞嘞 zzkp 啵啵 ###"


@pytest.fixture(scope="module")
def review_web(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A web app on the stack's databases that writes labels to a temporary review file."""
    review = tmp_path_factory.mktemp("review") / "review.yml"
    port = free_port()
    env = {**stack.env, "WEB_PORT": str(port), "REVIEW_NLU_FILE": str(review)}
    log = (stack.workdir / "review-web.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "web"], env=env, cwd=PROJECT_ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (stack.workdir / "review-web.log").read_text(errors="replace")[-2000:]
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the review web app did not start"
            time.sleep(0.5)
        for username, role in (("review-operator", "operator"), ("review-admin", "admin")):
            stack.command("accounts", "add", username, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        yield url, review
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"console-review-{name}.png"), full_page=True)


def test_an_operator_flags_a_message_and_an_admin_labels_it(browser, running, review_web):  # noqa: F811
    url, review = review_web
    sender = f"web:e2e-review-{uuid.uuid4().hex[:8]}"
    say(running, sender, GIBBERISH)
    say(running, sender, WORDS)

    def open_as(username: str):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1024, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(url + "/console/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return context, page

    context, operator = open_as("review-operator")
    operator.goto(url + "/console/conversations")
    operator.get_by_label("搜索").fill("咔咔响")
    operator.get_by_role("button", name="筛选").click()
    operator.get_by_role("link", name=sender_label(sender)).click()  # 网页访客 #…, never the raw id
    operator.wait_for_load_state()
    gibberish = operator.locator("li.resident", has_text="zzkp")
    assert gibberish.locator(".tag").first.inner_text() in ("没听懂", "把握不大", "待标注（没听懂（兜底））")
    message = operator.locator("li.resident", has_text="咔咔响")
    assert "识别为" in message.inner_text() and "把握" in message.inner_text()
    message.get_by_role("button", name="标记待标注").click()
    operator.wait_for_load_state()
    assert "已放进待标注队列" in operator.content()
    assert "人工标记" in operator.locator("li.resident", has_text="咔咔响").inner_text()
    shot(operator, "transcript-flagged")
    operator.goto(url + "/console/review")
    assert "咔咔响" in operator.content() and operator.locator("select[name=choice]").count() == 0
    context.close()

    context, admin = open_as("review-admin")
    admin.goto(url + "/console/review")
    row = admin.locator("tr", has_text="咔咔响")
    assert admin.locator("tr", has_text="zzkp").count() == 1  # the scan queued the gibberish
    row.locator("select[name=choice]").select_option("elevator")
    row.get_by_role("button", name="采纳").click()
    admin.wait_for_load_state()
    assert "已写入训练数据" in admin.content()
    shot(admin, "labelled")
    context.close()

    data = yaml.safe_load(review.read_text(encoding="utf-8"))
    blocks = {b["intent"]: b["examples"] for b in data["nlu"]}
    assert f"- {WORDS}" in blocks["elevator"]
