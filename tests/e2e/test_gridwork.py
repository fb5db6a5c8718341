"""A grid member works a resident's ticket from the chat, through the real stack, and the resident rates it."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.e2e.stack import say, texts
from tests.e2e.test_report import NUMBER, Resident, buttons
from tests.e2e.test_satisfaction import news

pytestmark = pytest.mark.e2e


def binding_code(stack, member: str) -> str:
    return re.search(r"绑定码：(\d{8})", stack.command("members", "code", member)).group(1)


def test_bind_take_progress_resolve_then_the_resident_rates(running):
    me = Resident(running)
    me.say("和园新村4号楼的楼道灯坏了，晚上上楼看不见")
    me.say("/report_start")
    me.say("不留")
    number = NUMBER.search(texts(me.say("/affirm"))).group(0)

    assert "网格员用的指令" in texts(me.say(f"办结 {number} 修好了"))  # a resident cannot

    member = f"telegram:{uuid.uuid4().int % 10**9}"
    assert "绑定成功，刘芳" in texts(say(running, member, f"绑定 {binding_code(running, 'gm-fl-03')}"))
    todo = say(running, member, "我的待办")
    assert number in texts(todo) and f"接单 {number}" in buttons(todo)
    assert "处理中" in texts(say(running, member, buttons(todo)[f"接单 {number}"]))
    say(running, member, f"进展 {number} 物业电工下午三点到")
    assert "物业电工下午三点到" in news(me, "物业电工下午三点到")[0]["text"]
    assert "已办结" in texts(say(running, member, f"办结 {number} 已更换声控灯两只"))

    [ask] = news(me, "已更换声控灯两只")
    assert "满意" in buttons([ask])
    assert "谢谢您的评价（满意）" in texts(me.say(buttons([ask])["满意"]))
    assert me.api(f"/api/tickets/{number}").json()["status"] == "closed"
