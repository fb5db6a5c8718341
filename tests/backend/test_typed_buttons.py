"""Typed words that say what a button on screen says act as that button; anything else is left to the NLU.

The matcher (:mod:`backend.rasa_ext.typed_buttons`) runs on the real button
sets: the responses of ``domain/*.yml`` (as Rasa renders them, ``{{`` → ``{``)
and the buttons the actions build (the rating question, a member's next
steps and to-do list, the ticket choice, the catalogue). The channel's step
(:func:`backend.rasa_ext.button_answers.as_pressed`) runs against a real
tracker store (SQLite, or the production profile's PostgreSQL) holding a
conversation, with the real domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from actions.gridwork_steps import next_step_buttons
from backend.models import Ticket
from backend.rasa_ext.button_answers import METADATA_KEY, as_pressed, buttons_on_screen
from backend.rasa_ext.channel import GuardedSQLTrackerStore
from backend.rasa_ext.typed_buttons import MAX_CHARS, load_paraphrases, match, normalise
from backend.settings import PROJECT_ROOT
from backend.tickets.ratings import rating_buttons

DOMAIN_DIR = PROJECT_ROOT / "domain"
NUMBER = "GZ20261206-0007"
OTHER = "GZ20261206-0012"


def _domain_buttons() -> dict[str, list[dict[str, str]]]:
    """Each response of domain/*.yml that has buttons: its first variant's buttons, rendered as Rasa sends them."""
    found: dict[str, list[dict[str, str]]] = {}
    for path in sorted(Path(DOMAIN_DIR).glob("*.yml")):
        for name, variants in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items():
            buttons = (variants or [{}])[0].get("buttons")
            if buttons:
                found[name] = [
                    {"title": b["title"], "payload": b["payload"].replace("{{", "{").replace("}}", "}")}
                    for b in buttons
                ]
    return found


DOMAIN_BUTTONS = _domain_buttons()


def _catalogue_buttons() -> list[dict[str, str]]:
    """``action_points_catalogue``'s buttons for the items the demo catalogue stocks (actions/points.py)."""
    items = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))["catalogue"]
    return [{"title": f"换{item['name']}", "payload": f"我要换{item['name']}"} for item in items[:5]]


def _todo_buttons() -> list[dict[str, str]]:
    """A member's to-do list with two tickets to take (actions/gridwork.py ``_todo``)."""
    return [{"title": f"接单 {n}", "payload": f"接单 {n}"} for n in (NUMBER, OTHER)]


def _which_buttons() -> list[dict[str, str]]:
    """The ticket choice of a status question with two streetlight tickets (actions/ticket_status.py)."""
    return [
        {"title": f"{NUMBER} 路灯照明 · 枫林路", "payload": f'/ticket_status{{"ticket_no": "{NUMBER}"}}'},
        {"title": f"{OTHER} 路灯照明 · 学府街", "payload": f'/ticket_status{{"ticket_no": "{OTHER}"}}'},
    ]


ACTION_BUTTONS: dict[str, list[dict[str, str]]] = {
    "rating": rating_buttons(NUMBER),
    "next_steps": next_step_buttons(Ticket(number=NUMBER, status="in_progress")),
    "todo": _todo_buttons(),
    "which_ticket": _which_buttons(),
    "catalogue": _catalogue_buttons(),
}


def _buttons(screen: str) -> list[dict[str, str]]:
    return DOMAIN_BUTTONS[screen] if screen in DOMAIN_BUTTONS else ACTION_BUTTONS[screen]


def _title_of(screen: str, typed: str) -> str | None:
    pressed = match(typed, _buttons(screen), load_paraphrases())
    return pressed.title if pressed else None


def test_the_domain_buttons_were_found():
    # The screens this file relies on exist, so a renamed response fails here rather than passing vacuously.
    assert {"utter_private_help", "utter_points_redeem_confirm", "utter_report_duplicate"} <= set(DOMAIN_BUTTONS)
    assert len(DOMAIN_BUTTONS) >= 12


@pytest.mark.parametrize(
    ("screen", "typed", "title"),
    [
        # issue 25, item 2: the exact inputs
        ("utter_private_help", "不用了，我自己联系", "不用了，我自己联系"),
        ("utter_points_redeem_confirm", "确认兑换", "确认兑换"),
        ("utter_report_duplicate", "关注这张工单", "关注这张工单"),
        ("utter_report_duplicate", "那我关注一下吧", "关注这张工单"),
        # the title, its punctuation, spaces and emoji aside
        ("utter_private_help", "不用了 我自己联系！", "不用了，我自己联系"),
        ("utter_report_duplicate", "关注这张工单👍", "关注这张工单"),
        ("utter_report_summary", "确认", "确认"),
        ("utter_ask_place_scope", "外面马路上", "外面马路上"),
        ("utter_report_which_field", "联系电话", "联系电话"),
        ("utter_points_balance", "能换什么？", "能换什么"),
        ("utter_ask_report_urgency", "紧急!!", "紧急"),
        # the title inside a short message
        ("utter_offer_ticket", "那就登记工单吧", "登记工单"),
        ("utter_points_redeem_confirm", "好的，确认兑换", "确认兑换"),
        ("utter_ask_report_remember_phone", "记住吧", "记住"),
        # a distinctive part of the title
        ("utter_report_duplicate", "关注", "关注这张工单"),
        ("utter_report_duplicate", "情况不一样", "情况不一样，单独登记"),
        ("utter_report_duplicate", "那我单独登记吧", "情况不一样，单独登记"),
        ("utter_private_help", "我自己联系吧", "不用了，我自己联系"),
        ("utter_private_help", "帮我对接一下", "请社区帮我对接"),
        ("utter_report_summary", "修改一下", "修改"),
        # everyday words for a yes-button and a no-button
        ("utter_report_duplicate", "好的", "关注这张工单"),
        ("utter_offer_ticket", "行", "登记工单"),
        ("utter_ask_report_remember_phone", "可以", "记住"),
        ("utter_report_summary", "好的", "确认"),
        ("utter_private_help", "算了", "不用了，我自己联系"),
        ("utter_points_redeem_confirm", "算了吧", "不换了"),
        ("utter_offer_ticket", "不要了", "不用了"),
        ("utter_report_summary", "算了", "取消"),
        ("utter_offer_ticket", "好的，不用了", "不用了"),
        # several everyday words of one meaning
        ("utter_private_help", "算了我自己弄", "不用了，我自己联系"),
        ("utter_offer_ticket", "不用不用", "不用了"),
        ("utter_report_summary", "好的好的，没问题", "确认"),
        # by position
        ("utter_ask_place_scope", "第三个", "外面马路上"),
        ("utter_report_which_field", "选第2个", "情况描述"),
        ("utter_ask_place_scope", "最后一个吧", "外面马路上"),
        # buttons the actions build
        ("rating", "满意", "满意"),
        ("rating", "基本满意吧", "基本满意"),
        ("rating", "不满意", "不满意"),
        ("next_steps", "办结", f"办结 {NUMBER}"),
        ("todo", f"接单 {OTHER}", f"接单 {OTHER}"),
        ("which_ticket", "学府街那个", f"{OTHER} 路灯照明 · 学府街"),
        ("which_ticket", NUMBER.lower(), f"{NUMBER} 路灯照明 · 枫林路"),
        ("catalogue", "换毛巾", "换毛巾"),
        ("catalogue", "我想换毛巾", "换毛巾"),
    ],
)
def test_typed_words_act_as_the_one_button_they_say(screen: str, typed: str, title: str):
    assert _title_of(screen, typed) == title


@pytest.mark.parametrize(
    ("screen", "typed"),
    [
        # a real sentence, a new problem, a question
        ("utter_report_duplicate", "我家楼下的路灯也坏了好几天"),
        ("utter_offer_ticket", "我的工单"),
        ("utter_report_summary", "电话填错了"),
        ("rating", "不满意！我刚下楼看了灯还是不亮"),
        ("utter_points_redeem_confirm", "我要换大米"),
        ("catalogue", "换毛巾吧，再来一袋油"),
        # words too general, or the opposite of a title that contains them
        ("utter_report_duplicate", "一样"),
        ("utter_offer_ticket", "不好"),
        ("utter_offer_ticket", "可以不用了"),
        # several buttons fit
        ("todo", "接单"),
        ("which_ticket", "路灯"),
        # no button with that meaning on screen
        ("utter_ask_place_scope", "好的"),
        ("utter_report_duplicate", "算了，不登记了"),  # its no-button files a ticket: stopping is the NLU's cancel
        ("utter_report_duplicate", "不用了"),
        ("utter_report_which_field", "算了"),
        ("utter_ask_place_scope", "第五个"),
        # a payload typed by a channel, and a message too long to be a button
        ("utter_report_duplicate", "/affirm"),
        ("utter_report_duplicate", "关注" + "，" * MAX_CHARS),
    ],
)
def test_anything_else_is_left_to_the_nlu(screen: str, typed: str):
    assert _title_of(screen, typed) is None


def test_normalise_ignores_punctuation_spaces_emoji_and_width():
    assert normalise("确认 兑换！！👍") == normalise("确认兑换") == "确认兑换"
    assert normalise("ＧＺ20261206-0007") == "gz202612060007"


# --- the channel's step, on a real tracker store -------------------------------------------------------------------


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(DOMAIN_DIR))


@pytest.fixture
def store(database_url: str, domain: Domain) -> GuardedSQLTrackerStore:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return GuardedSQLTrackerStore(domain, dialect="sqlite", db=url.database)
    return GuardedSQLTrackerStore(domain, dialect="postgresql", host=url.host, port=url.port, db=url.database,
                                  username=url.username, password=url.password)  # fmt: skip


async def _conversation(store: Any, sender: str, *answers: tuple[str, list[dict[str, str]]], then: str = "") -> None:
    """A resident's message, the assistant's answer in one or more messages (with buttons), and maybe one more."""
    tracker = DialogueStateTracker(sender, slots=[])
    tracker.update(UserUttered("望江新村九号楼的单元门关不上了", intent={"name": "report_problem", "confidence": 0.9}))
    for text, buttons in answers:
        tracker.update(BotUttered(text, {"buttons": buttons}))
    tracker.update(ActionExecuted("action_listen"))
    if then:
        tracker.update(UserUttered(then, intent={"name": "affirm", "confidence": 0.9}))
        tracker.update(BotUttered("好的。"))
    await store.save(tracker)


async def test_an_intent_button_keeps_the_typed_words_with_the_buttons_meaning(store, domain):
    duplicate = DOMAIN_BUTTONS["utter_report_duplicate"]
    await _conversation(store, "web:a", ("这个问题已经有人反映过了", duplicate))
    agent = Agent(domain=domain, tracker_store=store)
    message = UserMessage("那我关注一下吧", sender_id="web:a", input_channel="santong", metadata={"lang": "zh"})
    pressed = await as_pressed(agent, message)
    assert pressed.text == "那我关注一下吧"  # the tracker and the transcripts show what the resident typed
    assert pressed.parse_data["intent"] == {"name": "affirm", "confidence": 1.0}
    assert pressed.parse_data["text"] == "/affirm" and pressed.parse_data["entities"] == []
    assert pressed.metadata == {
        "lang": "zh",
        METADATA_KEY: {
            "typed": "那我关注一下吧",
            "title": "关注这张工单",
            "payload": "/affirm",
            "how": "part_of_title",
        },
    }
    assert (pressed.message_id, pressed.input_channel) == (message.message_id, "santong")
    event = UserUttered(pressed.text, pressed.parse_data["intent"], pressed.parse_data["entities"], pressed.parse_data)
    assert event.as_dict()["text"] == "那我关注一下吧" and event.intent_name == "affirm"


async def test_entities_of_the_payload_come_with_it(store, domain):
    await _conversation(
        store, "web:b", ("要改哪一项？", []), ("这个问题发生在哪里？", DOMAIN_BUTTONS["utter_ask_place_scope"])
    )
    pressed = await as_pressed(Agent(domain=domain, tracker_store=store), UserMessage("在马路上", sender_id="web:b"))
    assert pressed.text == "在马路上" and pressed.parse_data["intent"]["name"] == "inform_place"
    assert [(e["entity"], e["value"]) for e in pressed.parse_data["entities"]] == [("place_scope", "public")]


async def test_a_button_of_words_sends_its_words_and_the_typed_ones_stay_in_the_metadata(store, domain):
    await _conversation(store, "telegram:9", ("这件事急不急？", DOMAIN_BUTTONS["utter_ask_report_urgency"]))
    pressed = await as_pressed(Agent(domain=domain, tracker_store=store), UserMessage("紧急吧", sender_id="telegram:9"))
    assert pressed.text == "紧急" and pressed.parse_data is None  # the NLU and the form read the button's words
    assert pressed.metadata[METADATA_KEY]["typed"] == "紧急吧"


async def test_only_the_latest_answers_buttons_count(store, domain):
    # The buttons were answered already (a message came after them): a later "好的" is not a press of them.
    await _conversation(store, "web:c", ("有人反映过了", DOMAIN_BUTTONS["utter_report_duplicate"]), then="好的")
    assert await buttons_on_screen(store, "web:c") == []
    message = UserMessage("关注这张工单", sender_id="web:c")
    assert await as_pressed(Agent(domain=domain, tracker_store=store), message) is message
    # …and a resident who never talked has no buttons at all.
    assert await buttons_on_screen(store, "web:nobody") == []


async def test_a_long_message_is_not_even_looked_up(domain):
    class Unreadable(InMemoryTrackerStore):
        async def retrieve(self, sender_id: str) -> Any:
            raise AssertionError("the tracker store must not be read for a long message")

    long = "关注这张工单，另外学府街东头的井盖丢了，晚上很危险，麻烦尽快处理一下"
    message = UserMessage(long, sender_id="web:d")
    assert await as_pressed(Agent(domain=domain, tracker_store=Unreadable(domain)), message) is message


async def test_any_store_rasa_supports_works_the_same(domain):
    store = InMemoryTrackerStore(domain)
    await _conversation(store, "web:e", ("用 30 分兑换毛巾？", DOMAIN_BUTTONS["utter_points_redeem_confirm"]))
    pressed = await as_pressed(Agent(domain=domain, tracker_store=store), UserMessage("确认兑换", sender_id="web:e"))
    assert pressed.parse_data["intent"]["name"] == "affirm" and pressed.text == "确认兑换"


async def test_the_processor_reads_the_buttons_in_the_turns_own_conversation(agent, monkeypatch):
    """The ``typed_buttons`` patch on: no query of the store of its own, the words the model's NLU reads."""
    from rasa.core.processor import MessageProcessor

    from backend.rasa_ext.patches import typed_buttons

    monkeypatch.setattr(MessageProcessor, "_handle_message_with_tracker", MessageProcessor._handle_message_with_tracker)
    typed_buttons.install()  # undone when the test ends (the line above)
    assert typed_buttons.installed()
    store = InMemoryTrackerStore(agent.domain)
    monkeypatch.setattr(agent.processor, "tracker_store", store)

    await _conversation(store, "web:f", ("这件事急不急？", DOMAIN_BUTTONS["utter_ask_report_urgency"]))
    await agent.processor.log_message(UserMessage("紧急吧", sender_id="web:f", metadata={"lang": "zh"}))
    said = (await store.retrieve("web:f")).latest_message
    assert said.text == "紧急"  # a button of words: the NLU and the form read the button's words
    assert said.metadata["lang"] == "zh"  # the message's own metadata kept (Rasa adds the model's id beside it)
    pressed = {"typed": "紧急吧", "title": "紧急", "payload": "紧急", "how": "title_in_message"}
    assert said.metadata[METADATA_KEY] == pressed

    await _conversation(store, "web:g", ("这个问题已经有人反映过了", DOMAIN_BUTTONS["utter_report_duplicate"]))
    await agent.processor.log_message(UserMessage("那我关注一下吧", sender_id="web:g"))
    said = (await store.retrieve("web:g")).latest_message
    assert said.text == "那我关注一下吧" and said.intent["name"] == "affirm"  # the typed words, the button's intent
    assert said.metadata[METADATA_KEY]["title"] == "关注这张工单"

    await _conversation(store, "web:h", ("有人反映过了", DOMAIN_BUTTONS["utter_report_duplicate"]), then="好的")
    await agent.processor.log_message(UserMessage("关注这张工单", sender_id="web:h"))
    said = (await store.retrieve("web:h")).latest_message
    assert METADATA_KEY not in (said.metadata or {})  # the buttons were answered already: read as typed
