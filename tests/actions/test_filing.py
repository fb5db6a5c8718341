from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.filing import ActionDeclineTicket, ActionSubmitReport
from actions.ticket_status import ActionTicketStatus
from tests.actions.conftest import make_tracker


def tracker(sender, text="好的", intent="affirm", slots=None):
    return make_tracker(sender, text, intent, slots=slots)


def settled(text, category):
    return {"category": category, "request_text": text, "offer_pending": True}


async def file(sender, text, category):
    """File through the form's submit action, the place being the whole first message."""
    slots = {
        "category": category,
        "report_description": text,
        "report_place": text,
        "report_urgency": "normal",
        "report_phone": "none",
    }
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport().run(dispatcher, tracker(sender, "确认", slots=slots), {})
    return dispatcher.messages, events


async def test_filing_gives_number_matter_handler_and_deadline(backend):
    messages, events = await file("web:a", "枫林苑3号楼电梯又坏了", "elevator")
    [message] = messages
    assert message["response"] == "utter_ticket_filed"
    assert message["number"].startswith("GZ") and message["matter_name"] == "大家事"
    assert "月" in message["deadline"] and "物业" in message["handler"]
    assert {"event": "slot", "name": "last_ticket", "value": message["number"], "timestamp": None} in events


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


async def test_yes_right_after_the_offer_starts_the_report(backend):
    from actions.filing import ActionHandleAffirm

    dispatcher = CollectingDispatcher()
    events = await ActionHandleAffirm().run(
        dispatcher, answering("web:y", "好的", "affirm", "action_triage_request"), {}
    )
    assert dispatcher.messages[0]["response"] == "utter_report_starting"
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "report_form"


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
