"""Questions in the middle of the report form (issue 25, item 3): answered, then the same step again.

The dialogue part (the form rejects the message, a rule with
``condition: active_loop`` answers it) is checked on the domain and rules
here and through the running stack in tests/conversations; the actions'
part with real trackers and a real ledger.
"""

from datetime import datetime, timezone

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.report_form import ValidateReportForm
from actions.report_interruptions import ActionFormPoints, question_kind
from actions.report_questions import ActionAskReportPhone, ActionAskReportPlace
from backend.models import Community
from backend.points.config import import_points_config
from backend.points.earning import log_volunteer
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from backend.tickets.service import create_ticket
from backend.triage.entities import extract
from tests.actions.conftest import make_tracker

FORM = ValidateReportForm()
NOW = datetime.now(timezone.utc)
POINTS_QUESTIONS = ["points_history", "points_rules", "points_catalogue", "points_redeem"]


@pytest.fixture()
def ledger(backend):
    """A resident of 枫林社区 with 40 points from volunteering, and the demo catalogue."""
    data = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    with backend.begin() as s:
        import_points_config(session=s, data=data)
        resident = get_or_create_resident(session=s, channel="web", sender_id="f1")
        resident.community_id = s.scalars(select(Community.id).filter_by(code="fl")).one()
        s.flush()
        log_volunteer(session=s, member_code="gm-fl-01", reference=resident.code, hours=4, log_id="v1", now=NOW)
    return backend


def responses(dispatcher):
    return [m.get("response") for m in dispatcher.messages]


@pytest.mark.parametrize(
    ("text", "intent", "answer"),
    [
        ("对了 积分怎么换东西啊", "points_catalogue", "utter_points_catalogue"),
        ("积分怎么换", "points_history", "utter_points_catalogue"),  # the classifier's guess; the words ask the 超市
        ("我要换大米", "points_redeem", "utter_points_catalogue"),  # no redeeming in the middle of a report
        ("积分怎么挣啊", "points_history", "utter_points_rules"),
        ("我的积分为什么少了", "points_rules", "utter_points_history_list"),
        ("我现在还有几分", "points_catalogue", "utter_points_balance"),
    ],
)
async def test_a_points_question_in_the_form_gets_the_answer_it_asks_for(ledger, text, intent, answer):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:f1", text, intent, slots={"requested_slot": "report_phone"}, active_loop="report_form")
    await ActionFormPoints().run(dispatcher, tracker, {})
    assert responses(dispatcher) == [answer]
    assert all(m["buttons"] == [] for m in dispatcher.messages)  # no 换… buttons that would leave the form


async def test_a_points_question_taken_for_a_place_is_answered_not_looked_up(ledger):
    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": "report_place", "category": "streetlight", "report_place_tries": 0}
    tracker = make_tracker("web:f1", "积分怎么换", "nlu_fallback", slots=slots, active_loop="report_form")
    result = await FORM.validate_report_place("积分怎么换", dispatcher, tracker, {})
    assert result == {"report_place": None}
    assert responses(dispatcher) == ["utter_points_catalogue", "utter_report_resume"]


async def test_a_points_question_taken_for_a_phone_is_answered_not_refused(ledger):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "web:f1", "对了 积分怎么换东西啊", "nlu_fallback", slots={"requested_slot": "report_phone"}, active_loop="x"
    )
    result = await FORM.validate_report_phone("对了 积分怎么换东西啊", dispatcher, tracker, {})
    assert result == {"report_phone": None}
    assert responses(dispatcher) == ["utter_points_catalogue", "utter_report_resume"]


async def test_a_status_question_and_a_help_question_taken_for_answers(ledger):
    with ledger.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="f1")
        text = "枫林路路灯不亮"
        number = create_ticket(
            session=s,
            resident=resident,
            category="streetlight",
            description=text,
            place_text=text,
            entities=extract(text),
            now=NOW,
        ).number
    dispatcher = CollectingDispatcher()
    said = f"查询一下 {number}"
    tracker = make_tracker("web:f1", said, "inform_phone", slots={"requested_slot": "report_phone"})
    assert await FORM.validate_report_phone(said, dispatcher, tracker, {}) == {"report_phone": None}
    assert "utter_report_phone_invalid" not in responses(dispatcher)
    assert responses(dispatcher)[-1] == "utter_report_resume" and len(dispatcher.messages) >= 2

    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": "report_place", "category": "streetlight"}
    tracker = make_tracker("web:f1", "你都能帮我干啥", "nlu_fallback", slots=slots)
    assert await FORM.validate_report_place("你都能帮我干啥", dispatcher, tracker, {}) == {"report_place": None}
    assert responses(dispatcher) == ["utter_help", "utter_report_resume"]


@pytest.mark.parametrize(
    "text",
    [
        "另外学府街的路灯也不亮",
        "枫林苑3号楼",
        "13800000000",
        "不留",
        "小区门口",
        "就在枫林路公交站边上",
        "爱心超市门口",
    ],
)
def test_a_problem_a_place_or_a_phone_is_not_a_question(text):
    assert question_kind(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("对了 积分怎么换东西啊", "points"),
        ("积分怎么换", "points"),
        ("查询 GZ20261206-0001", "status"),
        ("你能干什么", "help"),
    ],
)
def test_questions_are_recognised(text, kind):
    assert question_kind(text) == kind


async def test_a_new_problem_at_the_place_step_stays_the_answer(backend):
    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": "report_place", "category": "streetlight"}
    text = "另外学府街的路灯也不亮"
    result = await FORM.validate_report_place(
        text, dispatcher, make_tracker("web:f2", text, "streetlight", slots=slots), {}
    )
    assert result["report_place"] == text and "学府街" in result["report_place_display"]
    assert "utter_report_resume" not in responses(dispatcher)


@pytest.mark.parametrize(
    "interruption", ["action_form_points", "action_points_balance", "action_ticket_status", "utter_help"]
)
async def test_the_question_asked_again_after_an_interruption_says_so(backend, interruption):
    events = [
        {"event": "user", "text": "积分怎么换"},
        {"event": "action", "name": interruption},
        {"event": "bot", "text": "……"},
    ]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "web:f3", "积分怎么换", "points_catalogue", slots={"requested_slot": "report_phone"}, events=events
    )
    await ActionAskReportPhone().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_report_resume", "utter_ask_report_phone"]


async def test_an_ordinary_question_of_the_form_has_no_resume_line(backend):
    events = [{"event": "user", "text": "登记"}, {"event": "action", "name": "action_start_report"}]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:f4", "登记", "report_start", slots={"requested_slot": "report_place"}, events=events)
    await ActionAskReportPlace().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_ask_report_place"]


def test_the_form_leaves_questions_to_the_rules_and_comes_back():
    """Every slot the form asks is not filled from a question's intent; a rule answers it inside the form."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain" / "report.yml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((PROJECT_ROOT / "data" / "rules" / "report.yml").read_text(encoding="utf-8"))["rules"]
    for slot in domain["forms"]["report_form"]["required_slots"]:
        [mapping] = domain["slots"][slot]["mappings"]
        assert {"points_balance", *POINTS_QUESTIONS, "ticket_status", "help"} <= set(mapping["not_intent"]), slot
    in_form = {
        rule["steps"][0]["intent"]: [step.get("action") for step in rule["steps"][1:]]
        for rule in rules
        if rule.get("condition") == [{"active_loop": "report_form"}] and "intent" in rule["steps"][0]
    }
    for intent in POINTS_QUESTIONS:
        assert in_form[intent] == ["action_form_points", "report_form", None], intent
    assert in_form["points_balance"][1:] == ["report_form", None]
    domain_responses = domain["responses"]
    assert "接着登记" in domain_responses["utter_report_resume"][0]["text"]
