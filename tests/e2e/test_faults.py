"""Faults survived through the web chat: every message kept, answered once, in order.

- the action server killed (SIGKILL, no goodbye) in the middle of the report
  form and started again: the message sent meanwhile is kept, the resident
  told, and the form continues where it was;
- ten messages from one resident at the same moment: all stored, each
  answered exactly once, the answers in the order the messages were taken.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from tests.e2e.stack import Stack
from tests.e2e.test_tracker_store_outage import WebResident, text_of


def test_the_action_server_killed_mid_form_then_restarted(running: Stack):
    me = WebResident(running)
    me.send("望江路碧湖丽苑门口的路灯好几盏都不亮")
    asked = me.send("/report_start")
    assert "手机号" in text_of(asked) or "问题在哪儿" in text_of(asked), asked
    os.killpg(running.procs["actions"].pid, signal.SIGKILL)
    running.procs.pop("actions").wait()
    try:
        kept = me.send("不留")
        assert kept["pending"] == 1 and kept["notice"], kept
    finally:
        running.start("actions")
        running.wait_ready("actions")
    deadline, answered = time.monotonic() + 120, ""
    while time.monotonic() < deadline and "请核对" not in answered and "联系电话" not in answered:
        answered += text_of(me.updates())
        time.sleep(1)
    assert "联系电话：不留" in answered, answered  # the same form, now at its summary


def test_ten_messages_at_once_are_all_answered_once_in_order(running: Stack):
    me = WebResident(running)
    me.send("你好")
    texts = ["你好"] * 10
    results: dict[int, dict] = {}

    def send(i: int) -> None:
        results[i] = me.send(texts[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == 10 and all(r is not None for r in results.values())
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        history = me.history()
        if not history["pending"]:
            break
        time.sleep(1)
    mine = [item for item in history["items"] if item["text"] == "你好"]
    assert len(mine) == 11 and not history["pending"], history  # every message stored, none waiting
    assert all(item["replies"] for item in mine), [item for item in mine if not item["replies"]]  # each answered
