"""Emergencies with real trackers: told by their words whatever the category; follow-ups kept on one ticket."""

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.emergency import ActionEmergency, emergency_turn
from actions.ticket_status import ActionTicketStatus
from backend.models import Ticket
from backend.tickets.urgency import AMBULANCE, FIRE, GAS, default_numbers, emergency_call, infer_urgency
from tests.actions.conftest import make_tracker


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("有个老人在滨湖广场晕倒了", AMBULANCE),
        ("碧湖丽苑五号楼电梯坏了，困了个外卖小哥在里面", FIRE),
        ("楼道里好大的煤气味！！", GAS),
        ("楼下着火了冒好多烟快来人", FIRE),
        ("滨湖广场的路灯不亮了", None),
        ("万一着火了消防通道堵着怎么办", None),
        ("已经打了120了，救护车在路上", None),
        ("小区路面太滑老人容易摔倒", None),
        ("碧湖丽苑2幢楼道里堆满了纸箱和旧家具，着火了都跑不出去", None),
        ("消防通道全是车，真着火了咋办", None),
        ("3号楼电梯又坏了，把人关里面半天", FIRE),
        ("2栋楼下起火了，火越来越大", FIRE),
    ],
)
def test_emergency_words_tell_whom_to_call(text, kind):
    assert emergency_call(text) == kind


def test_someone_trapped_is_urgent_in_the_form_too():
    assert infer_urgency("碧湖丽苑五号楼电梯坏了，困了个外卖小哥在里面") == "urgent"


async def test_a_collapse_filed_as_a_civility_matter_is_an_emergency_with_120(backend, sessions):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:em1", "有个老人在滨湖广场晕倒了", "civility")
    tracker.latest_message["intent_ranking"] = [{"name": "civility", "confidence": 0.6}]
    events = emergency_turn(dispatcher, tracker)
    assert events is not None
    first = dispatcher.messages[0]
    assert first["response"] == "utter_emergency" and "120" in first["call_now"]
    number = slots_of(events)["emergency_ticket"]
    with sessions() as s:
        ticket = s.query(Ticket).filter_by(number=number).one()
        assert ticket.urgency == "emergency" and ticket.category == "public_safety"


async def test_a_trapped_delivery_man_gets_119_and_the_gas_answer_gives_the_gas_line(backend):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:em2", "碧湖丽苑五号楼电梯坏了，困了个外卖小哥在里面", "elevator")
    assert emergency_turn(dispatcher, tracker) is not None
    assert "119" in dispatcher.messages[0]["call_now"]
    dispatcher = CollectingDispatcher()
    await ActionEmergency().run(dispatcher, make_tracker("web:em3", "楼道里好大的煤气味！！", "emergency"), {})
    shown = dispatcher.messages[0]
    gas = default_numbers().gas
    assert shown["gas"] == gas and gas in shown["call_now"] and gas.isdigit()


async def test_follow_ups_and_the_place_go_onto_the_first_emergency(backend, sessions):
    dispatcher = CollectingDispatcher()
    events = await ActionEmergency().run(dispatcher, make_tracker("web:em4", "有人晕倒了快来人", "emergency"), {})
    number = slots_of(events)["emergency_ticket"]
    slots = {"emergency_ticket": number}

    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:em4", "已经打了120了，救护车在路上", "emergency", slots=slots)
    events = await ActionEmergency().run(dispatcher, tracker, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_emergency_follow_up", "utter_emergency_where"]
    assert dispatcher.messages[0]["number"] == number

    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:em4", "碧湖丽苑2幢", "inform_place", slots=slots)
    emergency_turn(dispatcher, tracker)
    assert dispatcher.messages[0]["response"] == "utter_emergency_place_added"
    with sessions() as s:
        tickets = s.query(Ticket).all()
        assert [t.number for t in tickets] == [number]  # no second emergency
        ticket = tickets[0]
        assert ticket.needs_dispatch == 0 and ticket.status == "assigned"
        assert [e.kind for e in ticket.events] == ["created", "needs_dispatch", "follow_up", "place_added", "assigned"]

    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, make_tracker("web:em4", f"查询 {number}", "ticket_status"), {})
    timeline = dispatcher.messages[0]["timeline"]
    assert "补充情况：已经打了120了，救护车在路上" in timeline and "待派单：" in timeline


async def test_a_different_report_after_an_emergency_is_not_swallowed(backend, sessions):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:em5", "枫林苑3号楼有人晕倒了", "emergency")
    number = slots_of(await ActionEmergency().run(dispatcher, tracker, {}))["last_ticket"]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:em5", "学府街的路灯不亮", "streetlight", slots={"emergency_ticket": number})
    assert emergency_turn(dispatcher, tracker) is None
