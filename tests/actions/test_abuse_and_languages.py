"""Abuse and other languages (issue 25, item 14): the answers, with real trackers, and the rules that lead to them.

Abuse gets a calm answer with the street's hotline and no ticket; a message
in another language gets an answer in it with the hotline; both may come in
the middle of the report form, which then asks its question again.
"""

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.abuse import ActionAnswerAbuse
from actions.other_languages import ActionAnswerOtherLanguage, answer_language
from actions.report_questions import ActionAskReportPlace
from backend.human_contact import default_contact
from backend.models import Ticket
from backend.settings import PROJECT_ROOT
from tests.actions.conftest import make_tracker


def _domain(name):
    return yaml.safe_load((PROJECT_ROOT / "domain" / f"{name}.yml").read_text(encoding="utf-8"))


def _rules(name):
    return yaml.safe_load((PROJECT_ROOT / "data" / "rules" / f"{name}.yml").read_text(encoding="utf-8"))["rules"]


async def test_abuse_gets_the_hotline_and_files_nothing(backend):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:ab1", "你们这破系统有个屁用，垃圾，滚", "abuse")
    assert await ActionAnswerAbuse().run(dispatcher, tracker, {}) == []
    [message] = dispatcher.messages
    contact = default_contact()
    assert message["response"] == "utter_abuse"
    assert (message["name"], message["phone"], message["hours"]) == (contact.name, contact.phone, contact.hours)
    with backend() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_every_abuse_answer_is_calm_gives_the_hotline_and_asks_what_went_wrong():
    contact = default_contact()
    for variant in _domain("abuse")["responses"]["utter_abuse"]:
        text = variant["text"].format(name=contact.name, phone=contact.phone, hours=contact.hours)
        assert contact.phone in text and "热线" in text
        assert "告诉我" in text
        assert not any(word in text for word in ("文明", "注意您的言辞", "请不要骂人", "素质"))


@pytest.mark.parametrize(
    ("text", "response"),
    [
        ("The streetlight outside my building is broken", "utter_other_language_en"),
        ("エレベーターが壊れました", "utter_other_language_ja"),
        ("엘리베이터가 고장났어요", "utter_other_language_ko"),
        ("Лифт не работает", "utter_other_language_ru"),
        ("مرحبا، المصعد معطل", "utter_other_language_en"),
        ("Hola, hay mucha basura en la calle", "utter_other_language_en"),
    ],
)
async def test_another_language_is_answered_in_it_with_the_hotline(backend, text, response):
    dispatcher = CollectingDispatcher()
    await ActionAnswerOtherLanguage().run(dispatcher, make_tracker("web:ol1", text, "other_language"), {})
    [message] = dispatcher.messages
    assert message["response"] == response
    assert message["phone"] == default_contact().phone


def test_each_answer_in_another_language_is_in_it_and_has_a_chinese_line():
    responses = _domain("other_languages")["responses"]
    assert "Chinese" in responses["utter_other_language_en"][0]["text"]
    assert "中国語" in responses["utter_other_language_ja"][0]["text"]
    assert "중국어" in responses["utter_other_language_ko"][0]["text"]
    assert "китайский" in responses["utter_other_language_ru"][0]["text"]
    for variants in responses.values():
        assert "{phone}" in variants[0]["text"] and "本助手只能用中文交流" in variants[0]["text"]


def test_an_unrecognised_message_reaching_the_action_is_answered_in_english():
    assert answer_language("ok") == "en"


@pytest.mark.parametrize(
    ("intent", "action"), [("abuse", "action_answer_abuse"), ("other_language", "action_answer_other_language")]
)
def test_abuse_and_other_languages_are_answered_inside_the_form_and_the_form_comes_back(intent, action):
    form_domain = _domain("report")
    for slot in form_domain["forms"]["report_form"]["required_slots"]:
        [mapping] = form_domain["slots"][slot]["mappings"]
        assert intent in mapping["not_intent"], slot
    rules = _rules("abuse" if intent == "abuse" else "other_languages")
    steps = {
        (bool(rule.get("condition")), rule["steps"][0]["intent"]): [s.get("action") for s in rule["steps"][1:]]
        for rule in rules
    }
    assert steps[(False, intent)] == [action]
    assert steps[(True, intent)] == [action, "report_form", None]


@pytest.mark.parametrize("interruption", ["action_answer_abuse", "action_answer_other_language"])
async def test_the_question_asked_again_after_abuse_or_another_language_says_so(backend, interruption):
    events = [{"event": "user", "text": "滚"}, {"event": "action", "name": interruption}, {"event": "bot", "text": "…"}]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:ab2", "滚", "abuse", slots={"requested_slot": "report_place"}, events=events)
    await ActionAskReportPlace().run(dispatcher, tracker, {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_report_resume", "utter_ask_report_place"]


def _abuse_tracker(sender, text, ranking):
    tracker = make_tracker(sender, text, "abuse")
    tracker.latest_message["intent_ranking"] = [{"name": n, "confidence": c} for n, c in ranking]
    tracker.latest_message["intent"] = {"name": ranking[0][0], "confidence": ranking[0][1]}
    return tracker


async def test_swearing_that_tells_a_problem_is_triaged_as_the_problem_not_answered_as_abuse(backend):
    dispatcher = CollectingDispatcher()
    tracker = _abuse_tracker("web:ab3", "破物业又不修电梯，垃圾", [("abuse", 0.5), ("elevator", 0.35), ("greet", 0.05)])
    events = await ActionAnswerAbuse().run(dispatcher, tracker, {})
    said = [m.get("response") for m in dispatcher.messages]
    assert "utter_abuse" not in said and "utter_request_understood" in said
    assert {"event": "slot", "timestamp": None, "name": "category", "value": "elevator"} in events


async def test_pure_swearing_with_a_far_category_behind_it_is_abuse(backend):
    dispatcher = CollectingDispatcher()
    tracker = _abuse_tracker("web:ab4", "垃圾，滚", [("abuse", 0.8), ("street_sanitation", 0.12)])
    await ActionAnswerAbuse().run(dispatcher, tracker, {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_abuse"]
