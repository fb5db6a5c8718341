"""The two-category question, through the actions the rules run, on trackers that grow turn by turn.

Each turn is what Rasa sends the action server: the latest message with its
parse, the slots so far and every event of the conversation (the actions
read what the resident answers from them). The first messages carry
rankings the trained model gave them.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import ActionClarifyNeither
from actions.requests import ActionTriageRequest

ROBBERY = "晚上有人在学府街的小巷子里抢学生的手机"
# The model's parse of ROBBERY: under the fallback threshold, between 市容秩序 and 治安消防.
ROBBERY_RANKING = [
    {"name": "nlu_fallback", "confidence": 0.5},
    {"name": "street_order", "confidence": 0.376},
    {"name": "public_safety", "confidence": 0.308},
    {"name": "pollution", "confidence": 0.194},
]


class Conversation:
    """One resident's conversation: each turn runs the action the rules pick and keeps its events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.slots: dict[str, Any] = {}

    async def say(
        self,
        text: str,
        intent: str,
        ranking: list[dict[str, Any]] | None = None,
        action: type[Action] = ActionTriageRequest,
    ) -> list[dict[str, Any]]:
        """Send ``text`` parsed as ``intent``; the messages ``action`` answers with."""
        confidence = next((r["confidence"] for r in ranking or [] if r["name"] == intent), 1.0)
        parse = {"intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking or []}
        self.events.append({"event": "user", "text": text, "parse_data": parse})
        tracker = Tracker(
            sender_id="web:clarify",
            slots=dict(self.slots),
            latest_message={"text": text, **parse, "entities": []},
            events=list(self.events),
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )
        dispatcher = CollectingDispatcher()
        runner = action()
        events = await runner.run(dispatcher, tracker, {})
        self.events.append({"event": "action", "name": runner.name()})
        self.events += [{"event": "bot", "text": m.get("text"), "metadata": m} for m in dispatcher.messages]
        for event in events:
            if event["event"] == "slot":
                self.slots[event["name"]] = event["value"]
        self.events += [*events, {"event": "action", "name": "action_listen"}]
        return dispatcher.messages


async def asked() -> tuple[Conversation, dict[str, Any]]:
    """A conversation whose first message got the two-category question."""
    chat = Conversation()
    (question,) = await chat.say(ROBBERY, "nlu_fallback", ROBBERY_RANKING)
    return chat, question


async def test_an_ambiguous_message_is_asked_about_with_the_two_categories_as_buttons():
    chat, question = await asked()
    assert question["response"] == "utter_clarify_category"
    assert question["question"] == "您说的是【市容秩序】还是【治安消防】？"
    assert (question["first"], question["first_code"]) == ("市容秩序", "street_order")
    assert (question["second"], question["second_code"]) == ("治安消防", "public_safety")
    assert chat.slots["clarify_pending"] is True and chat.slots["clarify_choices"] == ["street_order", "public_safety"]
    assert chat.slots["clarify_text"] == ROBBERY and chat.slots["offer_pending"] is False


async def test_pressing_a_category_continues_as_if_the_classifier_had_said_it():
    chat, _ = await asked()
    understood, offer = await chat.say("/public_safety", "public_safety")
    assert understood["response"] == "utter_request_understood"
    assert understood["category_name"] == "治安消防" and understood["matter_name"] == "公家事"
    assert offer["response"] == "utter_offer_ticket"
    assert chat.slots["category"] == "public_safety" and chat.slots["request_text"] == ROBBERY
    assert chat.slots["offer_pending"] is True and chat.slots["clarify_pending"] is False


async def test_typed_answers_pick_the_category_by_name_or_by_position():
    for typed, intent, category in [
        ("治安消防吧", "public_safety", "public_safety"),
        ("是市容秩序", "nlu_fallback", "street_order"),
        ("第二个", "nlu_fallback", "public_safety"),
        ("后一个", "nlu_fallback", "public_safety"),
        ("前面那个", "nlu_fallback", "street_order"),
        ("第一个。", "nlu_fallback", "street_order"),
    ]:
        chat, _ = await asked()
        understood = (await chat.say(typed, intent))[0]
        assert understood["response"] == "utter_request_understood", typed
        assert chat.slots["category"] == category and chat.slots["request_text"] == ROBBERY, typed


async def test_a_chosen_category_whose_place_decides_gets_the_place_question():
    chat = Conversation()
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "neighbor_dispute", "confidence": 0.41},
        {"name": "home_repair", "confidence": 0.37},
        {"name": "building_common", "confidence": 0.1},
    ]
    (question,) = await chat.say("天花板上一直往下滴水", "nlu_fallback", ranking)
    assert question["response"] == "utter_clarify_category" and question["second"] == "户内维修"
    (where,) = await chat.say("/home_repair", "home_repair")
    assert where["response"] == "utter_ask_place_scope"
    assert chat.slots["awaiting_place"] is True and chat.slots["request_intent"] == "home_repair"
    assert chat.slots["request_text"] == "天花板上一直往下滴水" and chat.slots["clarify_pending"] is False


async def test_neither_asks_the_resident_to_describe_it_again():
    chat, _ = await asked()
    (again,) = await chat.say("/deny", "deny", action=ActionClarifyNeither)
    assert again["response"] == "utter_clarify_describe_again"
    assert chat.slots["clarify_pending"] is False and chat.slots["clarify_choices"] is None

    chat, _ = await asked()
    (again,) = await chat.say("两个都不对", "nlu_fallback")
    assert again["response"] == "utter_clarify_describe_again"


async def test_something_else_instead_of_an_answer_is_handled_as_a_new_message():
    chat, _ = await asked()
    understood, _ = await chat.say("学府街的路灯晚上不亮", "streetlight", [{"name": "streetlight", "confidence": 0.93}])
    assert understood["category_name"] == "路灯照明"
    assert chat.slots["request_text"] == "学府街的路灯晚上不亮" and chat.slots["clarify_pending"] is False
    # The question is closed: a later 第一个 is not read as an answer to it.
    (not_understood,) = await chat.say("第一个", "nlu_fallback", [{"name": "nlu_fallback", "confidence": 0.5}])
    assert not_understood["response"] == "utter_ask_describe_problem"


async def test_a_typed_choice_counts_only_right_after_the_question():
    chat, _ = await asked()
    chat.events.append({"event": "action", "name": "action_greet"})  # the bot said something else since
    (reply,) = await chat.say("第一个", "nlu_fallback", [{"name": "nlu_fallback", "confidence": 0.5}])
    assert reply["response"] == "utter_ask_describe_problem"


async def test_no_to_something_asked_since_is_answered_as_usual():
    chat, _ = await asked()
    chat.events.append({"event": "action", "name": "action_greet"})
    (reply,) = await chat.say("不是", "deny", action=ActionClarifyNeither)
    assert reply["response"] == "utter_anything_else" and chat.slots["clarify_pending"] is False
