"""Grid members' commands through the action with real trackers: binding by code, refusal for residents, work."""

from datetime import datetime, timezone

import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.gridwork import (
    ActionAskGridNote,
    ActionCancelGridNote,
    ActionGridCommand,
    ActionGridNote,
    ValidateGridNoteForm,
)
from backend.gridwork.binding import issue_code
from backend.models import Ticket
from backend.points.config import import_points_config
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from backend.tickets.service import create_ticket
from tests.actions.conftest import make_tracker
from tests.factories import file_ticket

NOW = datetime.now(timezone.utc)


def buttons_of(message):
    return {b["title"]: b["payload"] for b in message.get("buttons") or []}


async def say(sender, text):
    dispatcher = CollectingDispatcher()
    await ActionGridCommand().run(dispatcher, make_tracker(sender, text, "grid_command"), {})
    return dispatcher.messages[0]


async def test_a_resident_sending_a_members_command_is_refused_and_nothing_changes(backend):
    with backend.begin() as s:
        number = file_ticket(s, description="电梯坏了", now=NOW).number
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
    refused = await say("telegram:901", f"办结 {number}")  # no result: not resolved, asked for one
    assert refused["response"] == "utter_grid_note_needed" and refused["word"] == "办结"
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


async def run_action(action, tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


async def test_every_step_is_also_a_button_that_asks_for_its_text(backend):
    with backend.begin() as s:
        code = issue_code(session=s, member_code="gm-fl-01", now=NOW)
        number = file_ticket(s, sender="r5", description="3号楼电梯异响", now=NOW).number
    await say("telegram:903", f"绑定 {code}")
    taken = await say("telegram:903", buttons_of(await say("telegram:903", "我的待办"))[f"接单 {number}"])
    steps = buttons_of(taken)
    assert set(steps) == {f"写进展 {number}", f"办结 {number}", f"吹哨 {number}"}
    assert all(len(p.encode()) <= 64 for p in steps.values())  # Telegram's callback data limit
    # A typed step without its text opens the same note form the button opens: the next message is the result.
    dispatcher = CollectingDispatcher()
    events = await ActionGridCommand().run(
        dispatcher, make_tracker("telegram:903", f"办结 {number}", "grid_command"), {}
    )
    assert dispatcher.messages[0]["response"] == "utter_grid_note_needed"
    assert events == [
        {"event": "slot", "name": "grid_pending", "value": f"resolve {number}", "timestamp": None},
        {"event": "active_loop", "name": "grid_note_form", "timestamp": None},
    ]

    pending = {"grid_pending": f"resolve {number}"}
    [asked], _ = await run_action(ActionAskGridNote(), make_tracker("telegram:903", "/grid_note", "grid_note", pending))
    assert asked["response"] == "utter_ask_grid_note" and asked["what"] == "办理结果" and asked["number"] == number
    form = ValidateGridNoteForm()
    empty_tracker = make_tracker("telegram:903", "x", "grid_note", {})
    assert await form.required_slots(["grid_note"], CollectingDispatcher(), empty_tracker, {}) == []
    dispatcher = CollectingDispatcher()
    assert await form.validate_grid_note("长" * 600, dispatcher, empty_tracker, {}) == {"grid_note": None}
    assert dispatcher.messages[0]["response"] == "utter_grid_note_too_long"

    done_tracker = make_tracker("telegram:903", "已更换导靴", "inform", {**pending, "grid_note": "已更换导靴"})
    [done], events = await run_action(ActionGridNote(), done_tracker)
    assert done["response"] == "utter_grid_done" and done["status"] == "已办结" and done["buttons"] == []
    assert {(e["name"], e["value"]) for e in events} == {("grid_pending", None), ("grid_note", None)}
    with backend() as s:
        ticket = s.query(Ticket).filter_by(number=number).one()
        assert ticket.status == "resolved" and "已更换导靴" in ticket.events[-1].note


async def test_a_resident_pressing_a_forged_step_button_is_refused_and_cancel_changes_nothing(backend):
    with backend.begin() as s:
        number = file_ticket(s, sender="r6", now=NOW).number
    slots = {"grid_pending": f"resolve {number}", "grid_note": "我自己修好了"}
    [refused], _ = await run_action(ActionGridNote(), make_tracker("web:r6", "我自己修好了", "inform", slots))
    assert refused["response"] == "utter_grid_only_members"
    [cancelled], events = await run_action(
        ActionCancelGridNote(), make_tracker("telegram:903", "取消", "cancel", slots)
    )
    assert cancelled["response"] == "utter_grid_note_cancelled"
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    with backend() as s:
        assert s.query(Ticket).filter_by(number=number).one().status in ("submitted", "assigned")


async def test_a_bare_step_names_the_command_word_never_a_placeholder_and_checks_the_ticket(backend):
    with backend.begin() as s:
        code = issue_code(session=s, member_code="gm-fl-01", now=NOW)
        number = file_ticket(s, sender="r7", now=NOW).number
    await say("telegram:904", f"绑定 {code}")
    for typed, word in ((f"办结 {number}", "办结"), (f"进展 {number}", "进展"), (f"吹哨 {number}", "吹哨")):
        dispatcher = CollectingDispatcher()
        await ActionGridCommand().run(dispatcher, make_tracker("telegram:904", typed, "grid_command"), {})
        tip = dispatcher.messages[0]
        assert tip["word"] == word and tip["number"] == number and "指令" not in str(tip)
    dispatcher = CollectingDispatcher()
    events = await ActionGridCommand().run(
        dispatcher, make_tracker("telegram:904", "办结 GZ20990101-0001", "grid_command"), {}
    )
    assert events == [] and "没有工单" in dispatcher.messages[0]["text"]  # no form for a ticket not in the grid
