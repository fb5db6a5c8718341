"""Two problems in one message: both said back, the first filed, the second offered and started."""

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.filing import ActionDeclineTicket, ActionHandleAffirm, ActionSubmitReport
from actions.requests import ActionCancelRequest, ActionTriageRequest
from actions.ticket_status import ActionTicketStatus
from backend.triage.several import problems_of
from tests.actions.conftest import make_tracker

BARBECUE = (
    "望江路上那家烧烤店天天开到后半夜，喝酒划拳吵得整栋楼睡不着，还有他家门口的垃圾堆成小山了，汤水流得满地都是，臭死了"
)


def parse(name, confidence):
    return {
        "intent": {"name": name, "confidence": confidence},
        "intent_ranking": [{"name": name, "confidence": confidence}],
    }


def barbecue_problems():
    """What the Rasa server adds to the parse of BARBECUE: its clauses as the classifier reads them."""
    parses = [parse("pollution", 0.93), parse("street_sanitation", 0.9)]
    return [p.as_dict() for p in problems_of(BARBECUE, parses)]


def told(sender, text, intent, problems, slots=None):
    t = make_tracker(sender, text, intent, slots=slots)
    t.latest_message["problems"] = problems
    return t


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def after(slots, events):
    return {**slots, **slots_of(events)}


async def triage_barbecue(sender):
    dispatcher = CollectingDispatcher()
    events = await ActionTriageRequest().run(
        dispatcher, told(sender, BARBECUE, "street_sanitation", barbecue_problems()), {}
    )
    return dispatcher.messages, slots_of(events)


async def file_it(sender, slots):
    """The form collected what start_events pre-filled; submit it."""
    form = {**slots, "report_description": slots["request_text"], "report_place": slots["request_text"]}
    form.update(report_urgency="normal", report_phone="none")
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport().run(dispatcher, make_tracker(sender, "确认", "affirm", slots=form), {})
    return dispatcher.messages, after(form, events)


async def test_both_problems_are_said_back_and_the_first_is_offered(backend):
    messages, slots = await triage_barbecue("web:bbq1")
    assert [m["response"] for m in messages] == [
        "utter_several_problems",
        "utter_request_understood",
        "utter_offer_ticket",
    ]
    assert messages[0]["count"] == "两"
    lines = messages[0]["problems"].splitlines()
    assert lines[0].startswith("① 望江路上那家烧烤店") and lines[0].endswith("（环境污染）")
    assert lines[1].startswith("② 还有他家门口的垃圾") and lines[1].endswith("（街面环卫）")
    assert messages[1]["category_name"] == "环境污染"
    assert slots["category"] == "pollution" and slots["offer_pending"] is True
    assert slots["request_text"] == BARBECUE
    [waiting] = slots["problems_pending"]
    assert waiting["category"] == "street_sanitation" and waiting["message"] == BARBECUE


async def test_after_the_first_is_filed_the_second_is_offered_with_place_and_words(backend):
    _, slots = await triage_barbecue("web:bbq2")
    messages, slots = await file_it("web:bbq2", slots)
    assert [m["response"] for m in messages] == ["utter_ticket_filed", "utter_offer_next_problem"]
    offer = messages[1]
    assert offer["mark"] == "②" and offer["category_name"] == "街面环卫" and "垃圾" in offer["summary"]
    assert slots["category"] == "street_sanitation" and slots["request_text"] == BARBECUE
    assert slots["offer_pending"] is True and slots["problems_pending"] == []
    assert slots["last_ticket"] == messages[0]["number"]

    # 好的 answers that offer: the form starts with the same words and place.
    dispatcher = CollectingDispatcher()
    events = await ActionHandleAffirm().run(
        dispatcher,
        Tracker(
            "web:bbq2",
            slots,
            {"text": "好的", "intent": {"name": "affirm"}},
            [{"event": "action", "name": "action_submit_report"}, {"event": "user", "text": "好的"}],
            False,
            None,
            {},
            "action_listen",
        ),
        {},
    )
    started = slots_of(events)
    assert dispatcher.messages[0]["response"] == "utter_report_starting"
    assert started["report_description"] == BARBECUE and started["report_place"] == BARBECUE

    second, filed = await file_it("web:bbq2", {**slots, **started})
    assert [m["response"] for m in second] == ["utter_ticket_filed"]
    assert second[0]["number"] != messages[0]["number"] and filed["category"] is None


async def test_asking_for_the_other_problem_starts_its_report_not_a_status_answer(backend):
    _, slots = await triage_barbecue("web:bbq3")
    _, slots = await file_it("web:bbq3", slots)
    for action, intent in ((ActionTicketStatus(), "ticket_status"), (ActionTriageRequest(), "pollution")):
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, make_tracker("web:bbq3", "还有垃圾的事呢？", intent, slots=slots), {})
        assert dispatcher.messages[0]["response"] == "utter_report_starting"
        assert {"event": "followup", "name": "report_form", "timestamp": None} in events
        started = slots_of(events)
        assert started["report_description"] == BARBECUE and started["report_place"] == BARBECUE


async def test_an_unrelated_status_question_is_still_a_status_question(backend):
    _, slots = await triage_barbecue("web:bbq4")
    _, slots = await file_it("web:bbq4", slots)
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, make_tracker("web:bbq4", "我的工单", "ticket_status", slots=slots), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_list"


async def test_declining_the_first_offers_the_second(backend):
    _, slots = await triage_barbecue("web:bbq5")
    dispatcher = CollectingDispatcher()
    events = await ActionDeclineTicket().run(dispatcher, make_tracker("web:bbq5", "不用了", "deny", slots=slots), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_ticket_declined", "utter_offer_next_problem"]
    assert slots_of(events)["category"] == "street_sanitation" and slots_of(events)["offer_pending"] is True


async def test_cancelling_forgets_the_problems_still_waiting(backend):
    _, slots = await triage_barbecue("web:bbq6")
    events = await ActionCancelRequest().run(
        CollectingDispatcher(), make_tracker("web:bbq6", "取消", "cancel", slots=slots), {}
    )
    assert slots_of(events)["problems_pending"] is None
    messages, _ = await file_it(
        "web:bbq6", {**slots, **slots_of(events), "category": "road", "request_text": "望江路井盖没了"}
    )
    assert [m["response"] for m in messages] == ["utter_ticket_filed"]


async def test_one_problem_stays_one(backend):
    dispatcher = CollectingDispatcher()
    text = "小区垃圾桶满了好几天没人清，味道特别大，物业费年年交保洁就是不来"
    events = await ActionTriageRequest().run(dispatcher, told("web:one", text, "estate_sanitation", []), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_request_understood", "utter_offer_ticket"]
    assert slots_of(events).get("problems_pending") is None
