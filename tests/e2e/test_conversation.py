"""Conversations through the real Rasa server and action server, over HTTP."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.e2e.stack import say, texts

pytestmark = pytest.mark.e2e

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_rest_webhook_greets_in_chinese_with_a_button(running):
    answers = say(running, "u1", "你好")
    assert answers and CJK.search(texts(answers))
    assert re.search("(早上|上午|中午|下午|晚上)好", texts(answers))
    assert answers[0]["buttons"][0]["payload"] == "/help"


def test_help_explains_what_it_does_and_the_three_matters(running):
    answer = texts(say(running, f"e2e-{uuid.uuid4().hex}", "你能做什么"))
    for word in ("公家事", "大家事", "自家事", "工单", "积分"):
        assert word in answer


def test_button_payload_works_like_typing(running):
    answer = texts(say(running, f"e2e-{uuid.uuid4().hex}", "/help"))
    assert "三事分流" in answer


def test_gibberish_gets_asked_to_describe_the_problem(running):
    # Either the fallback ("没太明白…") or out of scope ("这个我帮不上忙…"): both ask for the problem.
    answer = texts(say(running, f"e2e-{uuid.uuid4().hex}", "qwxz zzkq pfft"))
    assert "没太明白" in answer or "具体问题" in answer


def test_rasa_and_the_action_server_listen_on_loopback_only(running):
    # Rasa's REST channel trusts any sender id: only loopback may reach it.
    import subprocess

    addresses = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    own = [a for a in addresses if "." in a and not a.startswith("127.")]
    if not own:
        pytest.skip("this machine has no non-loopback IPv4 address")
    for port in (running.env["RASA_PORT"], running.env["ACTIONS_PORT"]):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{own[0]}:{port}/", timeout=2)
