"""Reporting a problem through the real stack: Rasa's REST channel, the action server, the database, the API.

Each test is one resident's conversation as they would have it, with the
real model and actions; the ticket is read back through the resident API
with the web visitor's signed cookie (the REST sender is that visitor).
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from backend.web.visitor_cookie import COOKIE
from tests.e2e.stack import Stack, close_open_tickets, say, texts

pytestmark = pytest.mark.e2e
NUMBER = re.compile(r"GZ\d{8}-\d{4}")


class Resident:
    """One web visitor: talks through the REST channel as ``web:<id>``, reads the API with the cookie."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.visitor = uuid.uuid4().hex
        self.cookie = URLSafeSerializer(stack.env["SECRET_KEY"], salt="web-visitor").dumps(self.visitor)

    def say(self, message: str) -> list[dict]:
        return say(self.stack, f"web:{self.visitor}", message)

    def api(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.stack.web_url}{path}", cookies={COOKIE: self.cookie}, timeout=30)


def buttons(answers: list[dict]) -> dict[str, str]:
    return {b["title"]: b["payload"] for a in answers for b in a.get("buttons") or []}


def test_report_with_a_wrong_phone_a_correction_then_read_back_through_the_api(running):
    me = Resident(running)
    offer = me.say("锦秀花园5栋的电梯又坏了，我家老人下不了楼，急死了")
    assert "大家事" in texts(offer) and "登记工单" in buttons(offer)
    asked = me.say(buttons(offer)["登记工单"])
    assert "手机号" in texts(asked) and "问题在哪儿" not in texts(asked)  # the place was in the first message
    wrong = me.say("139 5720 481")
    assert "号码好像不对" in texts(wrong) and "139 5720 481" not in texts(wrong)
    remember = texts(me.say("13957204816"))
    assert "要我记住这个号码（139****4816）" in remember and "13957204816" not in remember
    summary = texts(me.say("不用了"))
    assert "139****4816" in summary and "13957204816" not in summary and "下次自动填写" not in summary
    assert "锦绣花园 5号楼" in summary and "紧急程度：紧急" in summary
    fields = me.say("/report_edit")
    assert "改哪一项" in texts(fields)
    me.say(buttons(fields)["紧急程度"])
    summary = texts(me.say("一般"))
    assert "紧急程度：一般" in summary and "139****4816" in summary
    filed = texts(me.say("/affirm"))
    number = NUMBER.search(filed).group(0)
    assert "已登记" in filed and "大家事" in filed and "办结时限" in filed and "网格员" in filed

    detail = me.api(f"/api/tickets/{number}").json()
    assert detail["description"] == "锦秀花园5栋的电梯又坏了，我家老人下不了楼，急死了"
    assert detail["urgency"] == "normal" and detail["status_name"] == "已派单"
    assert [t["number"] for t in me.api("/api/tickets").json()] == [number]
    stranger = Resident(running)
    assert stranger.api(f"/api/tickets/{number}").status_code == 404
    assert "没有找到" in texts(stranger.say(f"查询 {number}"))


def test_cancel_in_the_middle_files_nothing(running):
    me = Resident(running)
    me.say("学府街的路灯坏了好几个")
    me.say("/report_start")
    cancelled = texts(me.say("算了，不登记了"))
    assert "取消" in cancelled
    assert me.api("/api/tickets").json() == []
    after = texts(me.say("你好"))
    assert "三事通" in after  # the form is over: a greeting is a greeting again


def test_a_status_question_in_the_middle_then_back_to_the_form(running):
    me = Resident(running)
    me.say("望江路上的井盖没了")
    me.say("/report_start")
    status = texts(me.say("我的工单"))
    assert "还没有提交" in status and "手机号" in status  # answered, then the form's question again
    summary = texts(me.say("不留"))
    assert "联系电话：不留" in summary
    assert NUMBER.search(texts(me.say("确认")))


def test_an_unknown_place_gets_suggestions_then_is_accepted(running):
    me = Resident(running)
    me.say("楼道里的灯坏了，黑乎乎的")
    asked = texts(me.say("/report_start"))
    assert "问题在哪儿" in asked
    first = me.say("风林院")
    assert "枫林苑" in buttons(first) and texts(first).count("问题在哪儿") == 0
    second = texts(me.say("东边那个新盖的小区"))
    assert "按您说的地点登记" in second and "手机号" in second
    summary = texts(me.say("不留电话"))
    assert "核实后派单" in summary
    filed = texts(me.say("/affirm"))
    assert "社区工作人员会尽快派单" in filed


def test_the_same_problem_is_offered_to_follow_unless_the_resident_insists(running):
    close_open_tickets(running)  # another folder's test may have left this door's report open
    first = Resident(running)
    first.say("望江新村9号楼单元门坏了，关不上")
    first.say("/report_start")
    first.say("不留")
    number = NUMBER.search(texts(first.say("/affirm"))).group(0)

    neighbour = Resident(running)
    neighbour.say("望江新村九号楼的单元门关不上了")
    offered = neighbour.say("/report_start")
    assert number in texts(offered) and "关注这张工单" in buttons(offered)
    followed = texts(neighbour.say(buttons(offered)["关注这张工单"]))
    assert "已帮您关注" in followed
    assert [t["number"] for t in neighbour.api("/api/tickets").json()] == [number]

    insisting = Resident(running)
    insisting.say("望江新村9号楼单元门坏了")
    offered = insisting.say("好的")  # typed yes to the offer starts the form like the button
    insisting.say(buttons(offered)["情况不一样，单独登记"])
    insisting.say("不留")
    own = NUMBER.search(texts(insisting.say("/affirm"))).group(0)
    assert own != number


def test_an_emergency_gets_the_numbers_and_a_ticket_then_the_place(running):
    me = Resident(running)
    answer = texts(me.say("着火了！！楼道里全是烟，快来人啊"))
    assert answer.index("119") < answer.index("紧急工单")
    number = NUMBER.search(answer).group(0)
    added = texts(me.say("碧湖丽苑2幢"))
    assert "位置已补到紧急工单" in added
    detail = me.api(f"/api/tickets/{number}").json()
    assert detail["urgency"] == "emergency" and detail["status"] == "assigned"


def test_a_private_matter_gets_help_and_a_private_ticket_when_asked(running):
    me = Resident(running)
    answer = me.say("我家卫生间水管漏水了，不知道找谁修")
    assert "自家事" in texts(answer) and "便民维修" in texts(answer)
    assert "请社区帮我对接" in buttons(answer)
    me.say(buttons(answer)["请社区帮我对接"])
    me.say("和园新村2号楼")
    me.say("13857204691")
    summary = texts(me.say("记住"))
    assert "138****4691（下次自动填写）" in summary
    filed = texts(me.say("确认"))
    assert "自家事" in filed and NUMBER.search(filed)
    [ticket] = me.api("/api/tickets").json()
    assert ticket["matter"] == "private"

    me.say("我家厨房水龙头关不紧，一直滴")
    me.say("/report_start")
    summary = texts(me.say("和园新村2号楼"))  # the kept number is not asked again
    assert "请核对" in summary and "联系电话：138****4691" in summary
    me.say("/cancel")
    assert "已删除" in texts(me.say("删除我的电话"))
    me.say("楼下邻居装修天天砸墙，吵得老人睡不着")
    me.say("/report_start")
    asked = texts(me.say("和园新村2号楼"))
    assert "手机号" in asked and "138****4691" not in asked


def test_a_private_matter_declined_files_nothing(running):
    me = Resident(running)
    answer = me.say("跟我老公吵架了，他不管孩子")
    me.say(buttons(answer)["不用了，我自己联系"])
    assert me.api("/api/tickets").json() == []
