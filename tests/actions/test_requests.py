from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.requests import ActionCancelRequest, ActionResolvePlace, ActionTriageRequest


def tracker(text, intent, confidence=0.9, slots=None, entities=None):
    return Tracker(
        sender_id="web:t",
        slots=slots or {},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def test_clear_request_is_explained_from_the_category_table():
    dispatcher = CollectingDispatcher()
    events = await ActionTriageRequest().run(dispatcher, tracker("三号楼电梯又坏了", "elevator"), {})
    message, offer = dispatcher.messages
    assert message["response"] == "utter_request_understood" and offer["response"] == "utter_offer_ticket"
    assert message["matter_name"] == "大家事" and message["category_name"] == "电梯"
    assert "23:59" in message["deadline_text"]
    assert slots_of(events)["category"] == "elevator" and slots_of(events)["matter"] == "shared"
    assert slots_of(events)["offer_pending"] is True


async def test_a_private_matter_gets_the_communitys_help_instead_of_a_ticket_offer():
    dispatcher = CollectingDispatcher()
    events = await ActionTriageRequest().run(dispatcher, tracker("我家厨房水管漏了", "home_repair"), {})
    understood, help_offer = dispatcher.messages
    assert understood["response"] == "utter_request_understood" and understood["matter_name"] == "自家事"
    assert help_offer["response"] == "utter_private_help"
    assert "便民维修" in help_offer["help"] and "0571-8765 4321" in help_offer["help"]
    assert slots_of(events)["offer_pending"] is True


async def test_place_question_then_button_answer():
    dispatcher = CollectingDispatcher()
    events = await ActionTriageRequest().run(dispatcher, tracker("漏水了快来看看", "home_repair"), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_place_scope"
    slots = slots_of(events)
    assert slots["awaiting_place"] is True and slots["request_intent"] == "home_repair"

    dispatcher = CollectingDispatcher()
    answer = tracker(
        '/inform_place{"place_scope": "public"}',
        "inform_place",
        slots={**slots, "place_scope": "public"},
        entities=[{"entity": "place_scope", "value": "public"}],
    )
    events = await ActionResolvePlace().run(dispatcher, answer, {})
    assert dispatcher.messages[0]["category_name"] == "水电气暖"
    assert slots_of(events)["category"] == "utility" and slots_of(events)["request_text"] == "漏水了快来看看"


async def test_typed_place_answer_classified_as_a_request_still_answers_the_question():
    slots = {"awaiting_place": True, "request_intent": "home_repair", "request_text": "漏水了"}
    dispatcher = CollectingDispatcher()
    events = await ActionTriageRequest().run(dispatcher, tracker("在楼道里", "building_common", slots=slots), {})
    assert slots_of(events)["category"] == "building_common"


async def test_place_answer_without_a_request_asks_for_the_problem():
    dispatcher = CollectingDispatcher()
    assert await ActionResolvePlace().run(dispatcher, tracker("在家里", "inform_place"), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_place_without_request"


async def test_unclear_place_answer_asks_again():
    slots = {"awaiting_place": True, "request_intent": "home_repair"}
    dispatcher = CollectingDispatcher()
    assert await ActionResolvePlace().run(dispatcher, tracker("不知道啊", "inform_place", slots=slots), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_place_not_understood"


async def test_cancel_clears_the_request():
    dispatcher = CollectingDispatcher()
    events = await ActionCancelRequest().run(dispatcher, tracker("算了", "cancel"), {})
    assert dispatcher.messages[0]["response"] == "utter_cancelled"
    assert slots_of(events)["request_intent"] is None and slots_of(events)["awaiting_place"] is False


async def test_not_understood_asks_for_the_problem():
    dispatcher = CollectingDispatcher()
    assert await ActionTriageRequest().run(dispatcher, tracker("zzkq xvbn", "nlu_fallback", 0.3), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_ask_describe_problem"


async def test_unsure_about_a_leak_asks_where_it_is():
    dispatcher = CollectingDispatcher()
    events = await ActionTriageRequest().run(dispatcher, tracker("滴滴答答漏了一晚上", "nlu_fallback", 0.3), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_place_scope"
    assert slots_of(events)["awaiting_place"] is True


async def test_an_unsure_message_naming_a_ticket_is_answered_about_that_ticket(backend):
    dispatcher = CollectingDispatcher()
    await ActionTriageRequest().run(dispatcher, tracker("GZ20990101-0001 怎么样了", "nlu_fallback"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_not_found"
