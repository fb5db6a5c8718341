"""Conversation moves of issue 25 that the assistant got wrong, with real trackers and the demo registry.

Each test is one transcript of ``tests/conversations/held_up.yml`` at the
level of the action that decides it: a place said right after the offer, a
correction while another field is asked, the new value inside a correction
at the summary, and the gas company's arrival after a gas emergency.
"""

from rasa_sdk.executor import CollectingDispatcher

from actions.emergency import ActionEmergency
from actions.report_form import ValidateReportForm
from actions.report_slots import start_events
from actions.requests import ActionResolvePlace, ActionTriageRequest
from backend.models import Ticket
from tests.actions.conftest import make_tracker

FORM = ValidateReportForm()


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(dispatcher):
    return [m["response"] for m in dispatcher.messages]


# --- 1. the place said right after the offer belongs to the request offered ----------------------------------------


async def test_a_bare_place_after_the_offer_is_added_to_the_request_and_the_offer_repeated(backend):
    request = "俺们那栋楼的电悌又趴窝了"
    offered = {"offer_pending": True, "request_text": request, "request_intent": "elevator", "category": "elevator"}
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:hm1", "枫林苑4号楼", "inform_place", slots=offered)
    events = await ActionResolvePlace().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_offer_place_added", "utter_offer_ticket"]
    assert "枫林苑 4号楼" in dispatcher.messages[0]["place"]
    text = slots_of(events)["request_text"]
    assert text.startswith(request) and "枫林苑4号楼" in text
    # 登记工单 then starts the form with the place filled in: it is not asked again.
    started = make_tracker("web:hm1", "登记工单", "report_start", slots={**offered, **slots_of(events)})
    form = slots_of(start_events(started))
    assert form["report_place"] and "枫林苑4号楼" in form["report_place"]


async def test_the_place_is_added_when_the_classifier_takes_it_for_a_request_too(backend):
    offered = {"offer_pending": True, "request_text": "电梯又坏了", "request_intent": "elevator"}
    offered["category"] = "elevator"
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:hm2", "碧湖丽苑5号楼", "elevator", slots=offered)
    events = await ActionTriageRequest().run(dispatcher, tracker, {})
    assert responses(dispatcher)[0] == "utter_offer_place_added"
    assert slots_of(events)["request_text"] == "电梯又坏了 碧湖丽苑5号楼"


async def test_without_an_offer_a_bare_place_still_asks_what_the_problem_is(backend):
    dispatcher = CollectingDispatcher()
    await ActionResolvePlace().run(dispatcher, make_tracker("web:hm3", "枫林苑4号楼", "inform_place"), {})
    assert responses(dispatcher) == ["utter_place_without_request"]


# --- 2. a correction while the phone is asked leaves the phone unanswered -------------------------------------------


async def test_changing_the_place_at_the_phone_step_stores_no_phone(backend):
    text = "等一下 我想先改一下地点"
    # While validating, Rasa's tracker already holds the message as the asked slot's value.
    slots = {"requested_slot": "report_phone", "category": "streetlight", "report_phone": text}
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:hm4", text, "report_edit", slots=slots)
    result = await FORM.validate_report_phone(text, dispatcher, tracker, {})
    assert result["report_place"] is None and result["report_phone"] is None
    assert responses(dispatcher) == ["utter_report_will_change"]


async def test_changing_the_phone_while_asked_to_remember_it_stores_no_answer(backend):
    text = "电话不对"
    slots = {"requested_slot": "report_remember_phone", "report_remember_phone": text, "report_phone": "13957204816"}
    tracker = make_tracker("web:hm5", text, "report_edit", slots=slots)
    result = await FORM.validate_report_remember_phone(text, CollectingDispatcher(), tracker, {})
    assert result["report_phone"] is None and result["report_remember_phone"] is None


# --- 3. the new value in the correction sentence at the summary ---------------------------------------------------


async def confirm(sender, text, intent="report_edit", **slots):
    values = {"requested_slot": "report_confirm", "category": "road", **slots}
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(sender, text, intent, slots=values)
    return await FORM.validate_report_confirm(text, dispatcher, tracker, {}), dispatcher


async def test_a_new_phone_number_in_the_correction_is_taken_at_once(backend):
    result, _ = await confirm("web:hm6", "电话留错了，应该是139 5720 4816", report_phone="none")
    assert result["report_phone"] == "13957204816"
    assert result["report_confirm"] is None and result["report_remember_phone"] is None
    result, _ = await confirm("web:hm6", "电话不是13800138000，是13957204816", report_phone="13800138000")
    assert result["report_phone"] == "13957204816"


async def test_a_new_place_in_the_correction_is_resolved_at_once(backend):
    said = "地点说错了，不是滨湖路，是望江公园门口"
    result, _ = await confirm("web:hm7", said, report_place="滨湖路上有个井盖塌了一块")
    assert result["report_place"] == "望江公园门口"
    assert result["report_place_display"].startswith("望江公园（")
    assert result["report_confirm"] is None


async def test_a_correction_without_a_new_value_asks_for_it(backend):
    result, _ = await confirm("web:hm8", "地点说错了，不是滨湖路", report_place="滨湖路上有个井盖塌了一块")
    assert result["report_place"] is None and result["report_confirm"] is None
    result, _ = await confirm("web:hm8", "电话留错了", report_phone="13800138000")
    assert result["report_phone"] is None


# --- 9. the gas company's arrival goes onto the gas emergency ------------------------------------------------------


async def test_the_gas_company_arriving_is_a_follow_up_of_the_gas_emergency(backend, sessions):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:hm9", "江南家园1号楼楼道里一股煤气味 好冲", "emergency")
    number = slots_of(await ActionEmergency().run(dispatcher, tracker, {}))["emergency_ticket"]

    dispatcher = CollectingDispatcher()
    text = "燃气公司的人来了 阀门关上了"
    tracker = make_tracker("web:hm9", text, "utility", slots={"emergency_ticket": number})
    await ActionTriageRequest().run(dispatcher, tracker, {})
    assert responses(dispatcher)[0] == "utter_emergency_follow_up"
    assert dispatcher.messages[0]["number"] == number
    with sessions() as s:
        tickets = s.query(Ticket).all()
        assert [t.number for t in tickets] == [number]
        assert [e.kind for e in tickets[0].events][-1] == "follow_up"
