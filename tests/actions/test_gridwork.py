"""Grid members' commands through the action with real trackers: binding by code, refusal for residents, work."""

from datetime import datetime, timezone

import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.gridwork import ActionGridCommand
from backend.gridwork.binding import issue_code
from backend.models import Ticket
from backend.services.points_config import import_points_config
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from backend.tickets.service import create_ticket
from tests.actions.conftest import make_tracker

NOW = datetime.now(timezone.utc)


async def say(sender, text):
    dispatcher = CollectingDispatcher()
    await ActionGridCommand().run(dispatcher, make_tracker(sender, text, "grid_command"), {})
    return dispatcher.messages[0]


async def test_a_resident_sending_a_members_command_is_refused_and_nothing_changes(backend):
    with backend.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="r")
        number = create_ticket(
            session=s,
            resident=resident,
            category="elevator",
            description="电梯坏了",
            place_text="枫林苑3号楼",
            entities={"building": 3},
            now=NOW,
        ).number
    answer = await say("web:r", f"办结 {number} 修好了")
    assert answer["response"] == "utter_grid_only_members"
    with backend() as s:
        assert s.query(Ticket).filter_by(number=number).one().status == "assigned"


async def test_bind_then_todo_take_and_resolve(backend):
    with backend.begin() as s:
        code = issue_code(session=s, member_code="gm-fl-01", now=NOW)
        resident = get_or_create_resident(session=s, channel="web", sender_id="r2")
        number = create_ticket(
            session=s,
            resident=resident,
            category="elevator",
            description="电梯坏了",
            place_text="枫林苑3号楼",
            entities={"building": 3},
            now=NOW,
        ).number
    assert (await say("telegram:901", f"绑定 {code}"))["name"] == "王丽"
    assert (await say("telegram:901", "绑定 " + code))["text"].startswith("绑定码不对或已失效")
    listed = await say("telegram:901", "我的待办")
    assert listed["response"] == "utter_grid_todo" and number in listed["lines"]
    assert {"title": f"接单 {number}", "payload": f"接单 {number}"} in listed["buttons"]
    taken = await say("telegram:901", f"接单 {number.lower()}")
    assert taken["response"] == "utter_grid_done" and taken["status"] == "处理中"
    refused = await say("telegram:901", f"办结 {number}")
    assert "办理结果" in refused["text"]
    done = await say("telegram:901", f"办结 {number} 已更换曳引机钢丝绳")
    assert done["status"] == "已办结"


async def test_volunteer_hours_from_the_chat(backend):

    with backend.begin() as s:
        import_points_config(
            session=s, data=yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
        )
        code = issue_code(session=s, member_code="gm-fl-01", now=NOW)
    await say("telegram:902", f"绑定 {code}")
    logged = await say("telegram:902", "记录志愿 R0001 两个小时")
    assert logged["response"] == "utter_grid_volunteer_logged" and logged["amount"] == 10
    assert (await say("telegram:902", "记录志愿 R0001"))["response"] == "utter_grid_volunteer_how"


async def test_a_status_question_mistaken_for_a_command_is_answered_as_one(backend):
    answer = await say("web:r3", "查询 GZ20990101-0001")
    assert answer["response"] == "utter_ticket_not_found"
