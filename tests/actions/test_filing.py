import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.filing import ActionDeclineTicket, ActionFileTicket
from actions.ticket_status import ActionTicketStatus
from backend.services.registry import import_registry
from backend.settings import PROJECT_ROOT


@pytest.fixture()
def backend(database_url, sessions, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    runtime.sessions.cache_clear()
    data = yaml.safe_load((PROJECT_ROOT / "config" / "registry.demo.yml").read_text(encoding="utf-8"))
    with sessions.begin() as s:
        import_registry(session=s, data=data)
    yield sessions
    runtime.sessions.cache_clear()


def tracker(sender, text="好的", intent="affirm", slots=None):
    return Tracker(
        sender_id=sender,
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def settled(text, category):
    return {"category": category, "request_text": text, "offer_pending": True}


async def file(sender, text, category):
    dispatcher = CollectingDispatcher()
    events = await ActionFileTicket().run(dispatcher, tracker(sender, slots=settled(text, category)), {})
    return dispatcher.messages, events


async def test_filing_gives_number_matter_handler_and_deadline(backend):
    messages, events = await file("web:a", "枫林苑3号楼电梯又坏了", "elevator")
    [message] = messages
    assert message["response"] == "utter_ticket_filed"
    assert message["number"].startswith("GZ") and message["matter_name"] == "大家事"
    assert "月" in message["deadline"] and "物业" in message["handler"]
    assert {"event": "slot", "name": "last_ticket", "value": message["number"], "timestamp": None} in events


async def test_the_same_problem_from_a_neighbour_follows_the_first_ticket(backend):
    first, _ = await file("web:a", "枫林苑3号楼电梯又坏了", "elevator")
    second, _ = await file("web:b", "三号楼 枫林园 的电梯停了", "elevator")
    assert second[0]["response"] == "utter_ticket_duplicate" and second[0]["number"] == first[0]["number"]
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, tracker("web:b", "我的工单", "ticket_status"), {})
    assert first[0]["number"] in dispatcher.messages[0]["tickets"]


async def test_an_unknown_place_is_filed_for_dispatch(backend):
    messages, _ = await file("web:a", "我们那边路上有个井盖没了", "road")
    assert [m["response"] for m in messages] == ["utter_ticket_filed", "utter_ticket_needs_dispatch"]


async def test_status_shows_only_own_tickets(backend):
    mine, _ = await file("telegram:1", "望江路井盖没了", "road")
    theirs, _ = await file("telegram:2", "学府街路灯不亮", "streetlight")
    number = theirs[0]["number"]
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, tracker("telegram:1", f"查一下{number}", "ticket_status"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_not_found"
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, tracker("telegram:1", "查一下GZ20990101-0001", "ticket_status"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_not_found"
    dispatcher = CollectingDispatcher()
    own = mine[0]["number"]
    await ActionTicketStatus().run(dispatcher, tracker("telegram:1", f"查询 {own.lower()}", "ticket_status"), {})
    detail = dispatcher.messages[0]
    assert detail["response"] == "utter_ticket_detail" and detail["number"] == own
    assert "已受理" in detail["timeline"] and "已派单" in detail["timeline"]


async def test_no_tickets_yet(backend):
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, tracker("web:new", "我的工单", "ticket_status"), {})
    assert dispatcher.messages[0]["response"] == "utter_no_tickets"


async def test_declining_clears_the_offer(backend):
    dispatcher = CollectingDispatcher()
    events = await ActionDeclineTicket().run(dispatcher, tracker("web:a", "不用了", "deny"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_declined"
    assert events[0]["name"] == "offer_pending" and events[0]["value"] is False


def answering(sender, text, intent, last_action):
    return Tracker(
        sender_id=sender,
        slots=settled("望江路井盖没了", "road"),
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events=[
            {"event": "user", "text": "望江路井盖没了"},
            {"event": "action", "name": last_action},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": text},
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_yes_right_after_the_offer_files_the_ticket(backend):
    from actions.filing import ActionHandleAffirm

    dispatcher = CollectingDispatcher()
    await ActionHandleAffirm().run(dispatcher, answering("web:y", "好的", "affirm", "action_triage_request"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_filed"


async def test_yes_after_something_else_files_nothing(backend):
    from actions.filing import ActionHandleAffirm

    dispatcher = CollectingDispatcher()
    await ActionHandleAffirm().run(dispatcher, answering("web:y", "好的", "affirm", "utter_thanks"), {})
    assert dispatcher.messages[0]["response"] == "utter_anything_else"


async def test_no_right_after_the_offer_declines(backend):
    from actions.filing import ActionHandleDeny

    dispatcher = CollectingDispatcher()
    await ActionHandleDeny().run(dispatcher, answering("web:y", "不用了", "deny", "action_resolve_place"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_declined"
