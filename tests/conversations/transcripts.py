"""What the conversation runners share: placeholders, a member's chat, buttons and the resident's news.

Each ``test_*.py`` here runs the transcripts of one YAML file against the
started stack; these helpers keep the runners to what differs between them.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx

from tests.e2e.stack import Stack, say, texts
from tests.e2e.test_report import Resident


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with ``{number}``-style placeholders replaced by what the conversation produced so far."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def news(me: Resident, wanted: str, timeout: float = 30) -> None:
    """Wait until a message holding ``wanted`` reaches the resident's web chat (the worker's notices)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = httpx.get(
            f"{me.stack.web_url}/api/chat/updates?after=0", cookies={"sst_visitor": me.cookie}, timeout=10
        ).json()["replies"]
        if any(wanted in (r.get("text") or "") for r in replies):
            return
        time.sleep(1)
    raise AssertionError(f"居民没有收到含“{wanted}”的消息")


def member(stack: Stack, code: str) -> str:
    """A Telegram sender bound to grid member ``code`` with their 绑定码."""
    sender = f"telegram:{uuid.uuid4().int % 10**9}"
    bound = re.search(r"绑定码：(\d{8})", stack.command("members", "code", code)).group(1)
    assert "绑定成功" in texts(say(stack, sender, f"绑定 {bound}"))
    return sender


def button(answers: list[dict[str, Any]], wanted: str) -> str:
    """The payload of the first button whose title holds ``wanted``."""
    for answer in answers:
        for b in answer.get("buttons") or []:
            if wanted in b["title"]:
                return str(b["payload"])
    raise AssertionError(f"没有标题含“{wanted}”的按钮：{answers!r}")
