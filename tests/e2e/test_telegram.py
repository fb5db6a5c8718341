"""A resident on Telegram, through the bridge process, the real Rasa and action server, and a fake Bot API.

The bridge runs exactly as ``make run`` starts it (``python -m backend serve
telegram``), long polling tests/fake_bot_api.py on a loopback port.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid

import pytest

from tests.e2e.stack import Stack
from tests.fake_bot_api import TOKEN, FakeBotAPI, button_update, text_update

pytestmark = pytest.mark.e2e

NUMBER = re.compile(r"GZ\d{8}-\d{4}")
# Telegram numbers updates in increasing order, across restarts of the bridge.
UPDATE_IDS = itertools.count(int(time.time()) % 10**6 * 1000)


class TelegramResident:
    """One Telegram user talking to the bot through the fake Bot API."""

    def __init__(self, api: FakeBotAPI, stack: Stack):
        self.api = api
        self.stack = stack
        self.user_id = uuid.uuid4().int % 10**9
        self.seen = 0

    def _next_update_id(self) -> int:
        return next(UPDATE_IDS)

    def send(self, text: str) -> None:
        self.api.push(text_update(self._next_update_id(), self.user_id, text))

    def press(self, payload: str) -> None:
        self.api.push(button_update(self._next_update_id(), self.user_id, payload))

    def mine(self) -> list[dict]:
        return [p for p in self.api.delivered if int(p["chat_id"]) == self.user_id]

    def wait(self, needle: str, timeout: float = 60) -> list[dict]:
        """Messages delivered since the last wait, once one contains ``needle``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = self.mine()[self.seen :]
            if any(needle in m["text"] for m in new):
                self.seen += len(new)
                return new
            time.sleep(0.1)
        raise AssertionError(f"no {needle!r} after {timeout}s; got {self.mine()}\n{self.stack.log('telegram')}")


def buttons(messages: list[dict]) -> dict[str, str]:
    out = {}
    for m in messages:
        markup = m.get("reply_markup")
        markup = json.loads(markup) if isinstance(markup, str) else markup
        for row in (markup or {}).get("inline_keyboard", []):
            for b in row:
                out[b["text"]] = b["callback_data"]
    return out


@pytest.fixture()
def telegram(running):
    api = FakeBotAPI()
    running.start("telegram", {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url})
    try:
        yield api
    finally:
        running.stop("telegram")
        api.close()


def test_a_resident_files_a_ticket_on_telegram_with_buttons_and_asks_its_status(running, telegram):
    me = TelegramResident(telegram, running)
    me.send("/start")
    greeting = me.wait("三事通")
    assert buttons(greeting)  # the greeting's buttons became an inline keyboard
    me.send("碧湖丽苑2幢楼道里堆满了纸箱和旧家具，着火了都跑不出去")
    offer = me.wait("登记")
    me.press(buttons(offer)["登记工单"])
    me.wait("手机号")
    me.send("不留")
    summary = me.wait("请核对")
    me.press(buttons(summary)["确认"])
    number = NUMBER.search("".join(m["text"] for m in me.wait("已登记"))).group(0)
    me.send(f"查询 {number}")
    assert me.wait(number)
    me.send("/mytickets")
    assert me.wait(number)


def test_five_quick_messages_from_one_chat_are_all_answered_in_order(running, telegram):
    me = TelegramResident(telegram, running)
    for text in ["你好", "你是机器人吗", "三事分流是什么", "楼下垃圾好几天没人收", "谢谢"]:
        me.send(text)
    deadline = time.monotonic() + 60
    answered = ""
    while time.monotonic() < deadline and not re.search("不客气|不用谢", answered):
        time.sleep(0.1)
        answered = "\n".join(m["text"] for m in me.mine())
    # Each message was answered, in the order sent (answers may share a Telegram message).
    position = 0
    for answer in ("三事通社区助手", "不是真人", "三事分流", "垃圾"):
        found = answered.find(answer, position)
        assert found >= 0, (answer, answered)
        position = found + len(answer)
    assert re.search("不客气|不用谢", answered[position:]), answered
